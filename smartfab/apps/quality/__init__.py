"""Quality and process optimisation: the parts made and their inspection results (parts.py),
defect prediction per part with its drivers (defects.py), live scoring with alarms (live.py),
surrogate models of energy, cycle time and defect risk learnt from history (surrogate.py),
constrained optimisation of the operating parameters (optimise.py) and the life of a
recommendation: approve, apply through the audited setpoint path, measure, roll back
(recommendations.py)."""
