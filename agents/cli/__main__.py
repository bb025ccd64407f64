"""``python -m student_gym_agents.cli``: the ``student-gym`` command without its script."""

from __future__ import annotations

import sys

from student_gym_agents.cli import main

sys.exit(main())
