"""The administrators' web page (`resync web`): the original tool's screen over the same API as the CLI.

- app: the Starlette application and its settings;
- sessions: signing in as a database role (password form or a reverse proxy's header), CSRF tokens;
- pages: the resync screen and its confirmation, a request's page, history, the inbox;
- state_pages: freshness, and verification with its Repair button (orchestrator.state_view);
- events: server-sent events fed by the database's LISTEN (progress, notifications).
"""
