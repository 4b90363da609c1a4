"""Production scheduling: work orders with routings on machines with shifts and maintenance
windows, planned with OR-Tools CP-SAT (makespan or weighted tardiness) and re-planned when a
machine goes down."""
