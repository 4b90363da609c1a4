"""OPC UA: the connector (subscriptions, reads and checked writes) and its certificates."""
