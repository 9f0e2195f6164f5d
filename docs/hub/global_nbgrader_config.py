"""nbgrader's hub-wide configuration for an optilab class: install it as /etc/jupyter/nbgrader_config.py.

Every Jupyter server on the hub reads it — the students' servers, which have no course folder of
their own, and the course's formgrader service, which reads the course's ``nbgrader_config.py``
after it. It names the course and the exchange, the shared folder through which nbgrader moves
releases, submissions and feedback between the instructor and the students.

The course's ``nbgrader_config.py`` deliberately leaves ``Exchange.root`` alone, so this file
decides it. ``OPTILAB_EXCHANGE`` in a server's environment moves it (for a test, or a second hub).
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# The students' Assignments tab lists this course; it must equal the course's own course_id.
c.CourseDirectory.course_id = "optilab"

# Created once by the administrator, writable by everyone with the sticky bit (1777), as nbgrader
# itself would create it: nbgrader then gives each release, submission and feedback the right modes.
c.Exchange.root = os.environ.get("OPTILAB_EXCHANGE") or "/srv/nbgrader/exchange"
