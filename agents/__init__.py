"""The learner side of student_gym: agents that act in StudentProgramming-v0, and training."""
