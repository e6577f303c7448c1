"""The drill, in pipeline order::

    faults -> detection -> recovery -> grading -> journal -> publish -> report
    (load and steady_state run alongside; run ties the stages together)

Each stage is a module with one job; only typed records (gameday.record) pass between
them."""
