"""How people and tools drive gameday: the ``gameday`` command (``cli``), the pytest plugin
(``pytest_plugin``), the Chaos Toolkit extension (``chaostoolkit``) and its Kubernetes
drills (``kubernetes``), and human responders (``responders``). Adapters hold no drill
logic: they call the stages and publish what they return."""
