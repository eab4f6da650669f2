"""Staff assistant for the city's 協働 guideline: retrieval with cited sections."""
