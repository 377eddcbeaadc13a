"""Wizard storage that writes the session only when the wizard's data changed.

formtools' SessionStorage marks the session modified on every *read* of its data, so each GET of
a wizard step (a reload, a language switch, Back) rewrote the whole session row. This one
compares the data at the end of the request with what was loaded, which also catches changes made
in place (formtools mutates the stored dict for current_step and step data)."""
import json

from formtools.wizard.storage.session import SessionStorage


def _fingerprint(value):
    return json.dumps(value, sort_keys=True, default=str)


class ChangedOnlySessionStorage(SessionStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded = _fingerprint(self.request.session.get(self.prefix))

    def _get_data(self):
        return self.request.session[self.prefix]

    def _set_data(self, value):
        self.request.session[self.prefix] = value  # marks the session modified

    data = property(_get_data, _set_data)

    def update_response(self, response):
        super().update_response(response)
        if _fingerprint(self.request.session.get(self.prefix)) != self._loaded:
            self.request.session.modified = True
