"""Digital-transformation management: maturity self-assessment against published models with
the platform's own evidence, transformation KPIs against national targets, the investment and
subsidy planner, the technological-sovereignty report and national industry insights. See
docs/transformation.md."""
