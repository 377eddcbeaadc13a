"""Static files in production: WhiteNoise's compressed manifest storage, each URL worked out once
per process. The manifest is read when the process starts and does not change while it runs,
yet Django looks a name up in it, cleans, quotes and joins it again at every {% static %}: eight
per page, a tenth of a wizard step's time (bench/RESULTS.md)."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        try:
            return self._urls[name]
        except KeyError:
            url = self._urls[name] = super().url(name)
            return url
