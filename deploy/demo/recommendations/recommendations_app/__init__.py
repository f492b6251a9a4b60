"""The demo's Python service: recommendations after a checkout (FastAPI, under the FlowTrace Python agent)."""
