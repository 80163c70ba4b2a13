"""The intake channels' HTTP faces (Open311, the SMS webhook): REST, not GraphQL, each
authenticating itself by the city's API key or signing secret (docs/channels.md)."""
