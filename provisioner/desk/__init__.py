"""The support desk: messages to entities and the head of service, sample PRE requests."""
