#!/bin/sh
# Refresh the French catalogues: one per app (<app>/locale) plus locale/ for templates/ and config/.
# Usage: scripts/makemessages.sh [path-to-django-admin]
set -e
ADMIN=${1:-$(pwd)/.venv/bin/django-admin}
for app in orders orgs provisioning onboarding; do
    mkdir -p "$app/locale"
    (cd "$app" && env -u DJANGO_SETTINGS_MODULE "$ADMIN" makemessages -l fr --no-obsolete -v0)
done
env -u DJANGO_SETTINGS_MODULE "$ADMIN" makemessages -l fr --no-obsolete -v0 \
    --ignore=.venv --ignore=var --ignore='orders/*' --ignore='orgs/*' --ignore='provisioning/*' \
    --ignore='onboarding/*' --ignore=bench --ignore=tests --ignore=scripts --ignore='static/vendor/*'
