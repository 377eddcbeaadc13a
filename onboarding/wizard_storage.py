"""Wizard storage that writes the session only when the wizard's data changed.

formtools' SessionStorage marks the session modified on every *read* of its data, so each GET of
a wizard step (a reload, a language switch, Back) rewrote the whole session row. This one
compares the data at the end of the request with what was loaded, which also catches changes made
in place (formtools mutates the stored dict for current_step and step data)."""
import json

from formtools.wizard.storage.session import SessionStorage


def fingerprint(value):
    return json.dumps(value, sort_keys=True, default=str)


class ChangedOnlySessionStorage(SessionStorage):
    # Bumped by every write of the stored answers: the wizard keeps what it derives from them
    # (each step's checked answers) for as long as it is unchanged.
    version = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded = fingerprint(self.request.session.get(self.prefix))

    def _get_data(self):
        return self.request.session[self.prefix]

    def _set_data(self, value):
        self.request.session[self.prefix] = value  # marks the session modified
        self.version += 1

    def set_step_data(self, step, cleaned_data):
        super().set_step_data(step, cleaned_data)
        self.version += 1

    data = property(_get_data, _set_data)

    def update_response(self, response):
        super().update_response(response)
        if fingerprint(self.request.session.get(self.prefix)) != self._loaded:
            self.request.session.modified = True
