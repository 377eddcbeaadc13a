# The service setup assistant (step 11), after the order is set up.
urlpatterns: list = []
