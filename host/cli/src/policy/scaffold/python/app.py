"""__NAME__: a Portcullis access-request policy in Python (ABI v2 component).

Approves a request that carries a `ticket` annotation; leaves any other to a human.
Build with ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.
"""

from wit_world import exports
from wit_world.exports import access_request as ar
from wit_world.imports import types


class Describe(exports.Describe):
    def get(self) -> types.Metadata:
        return types.Metadata(name="__NAME__", version="0.1.0", functions=[], capabilities=[])


class AccessRequest(exports.AccessRequest):
    def decide(self, input: ar.Input) -> ar.Decision:
        tickets = next((a.values for a in input.request.annotations if a.name == "ticket"), [])
        if tickets and tickets[0]:
            return ar.Decision(ar.Verdict.APPROVE, "the request carries a ticket", [], [])
        return ar.Decision(ar.Verdict.PENDING, "no ticket: a human must review", [], [])
