"""Production monitoring: OEE after ISO 22400-2 and statistical process control."""
