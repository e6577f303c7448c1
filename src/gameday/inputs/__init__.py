"""What a team's repository tells gameday: the project file (``project``), the scenario
files (``scenario``), the playbook's Markdown (``playbook``), the hardened YAML reader they
share (``yamldoc``), and ``scaffold``, which writes a first project. Nothing here starts a
container: every input is validated before anything runs."""
