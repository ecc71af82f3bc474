"""The inference.sh-compatible root (SPEC §9): the hosted platform's official SDKs run
against brushwork with only their base URL changed."""

from brushwork.server.infsh.protocol import PROBLEM_RESPONSES, ROOT, Problem, problem
from brushwork.server.infsh.router import router, webhook_payload

__all__ = ["PROBLEM_RESPONSES", "ROOT", "Problem", "problem", "router", "webhook_payload"]
