"""The replica's infrastructure: the compose project (``compose``), the running replica
(``replica``), the Docker engine (``docker_engine``), offline image builds (``images``),
what gameday owns in Docker and how it reaps it (``ownership``), and the client of the
network-fault proxy (``proxy_client``)."""
