# The order setup wizard (steps 3-10): /setup/<token>/ and the clean /setup/ URLs.
urlpatterns: list = []
