"""Course logs: the data model, the native format, importers and the bundled sample course.

See docs/course.md. The API others code against::

    load_course(path) -> Course            # native JSONL (file or directory)
    save_course(course, path) -> Path
    bundled_course() -> Course             # the shipped generated course, cached
    import_falconcode / import_progsnap2 / import_table(source, ...) -> (Course, ImportReport)
    course_stats(course) -> dict           # lengths, statuses, distinct programs (stats.py)
"""

from __future__ import annotations

from student_gym.course.assembly import SplitOptions
from student_gym.course.bundled import BUNDLED_PATH, bundled_course
from student_gym.course.falconcode import import_falconcode
from student_gym.course.import_report import ImportReport
from student_gym.course.model import Course, Problem, Submission, Trajectory, TutorEvent
from student_gym.course.native import CourseFormatError, load_course, save_course
from student_gym.course.progsnap2 import import_progsnap2
from student_gym.course.regrade import RegradeResult, drop_mismatched, regrade
from student_gym.course.selection import Selection
from student_gym.course.stats import course_stats
from student_gym.course.table import import_table

__all__ = [
    "BUNDLED_PATH",
    "Course",
    "CourseFormatError",
    "ImportReport",
    "Problem",
    "RegradeResult",
    "Selection",
    "SplitOptions",
    "Submission",
    "Trajectory",
    "TutorEvent",
    "bundled_course",
    "course_stats",
    "drop_mismatched",
    "import_falconcode",
    "import_progsnap2",
    "import_table",
    "load_course",
    "regrade",
    "save_course",
]
