"""approve-dba: the example access-request policy of Portcullis, in Python (ABI v2).

Built into a WebAssembly component with componentize-py (see build.sh) for the
`access-request-policy` world of guest-sdk/wit/policy.wit. The decision is specified in
policies/conformance/README.md:

  - any requested role other than `dba`     -> deny
  - no roles at all                         -> deny
  - no non-empty `ticket` annotation        -> pending (a human reviews)
  - outside Mon-Fri 08:00-18:00 UTC         -> pending (a human reviews)
  - otherwise                               -> approve, annotated `approved-by: approve-dba`
"""

from wit_world import exports
from wit_world.exports import access_request as ar
from wit_world.imports import host, types


class Describe(exports.Describe):
    def get(self) -> types.Metadata:
        return types.Metadata(
            name="approve-dba",
            version="1.0.0",
            functions=[],
            capabilities=[types.Capability_Time()],
        )


def pending(reason: str) -> ar.Decision:
    return ar.Decision(ar.Verdict.PENDING, reason, [], [])


def working_hours(ms: int) -> bool:
    days = ms // 86_400_000
    weekday = (days + 4) % 7  # 0 = Sunday
    hour = (ms // 3_600_000) % 24
    return 1 <= weekday <= 5 and 8 <= hour < 18


class AccessRequest(exports.AccessRequest):
    def decide(self, input: ar.Input) -> ar.Decision:
        roles = input.request.roles
        if not roles:
            return ar.Decision(ar.Verdict.DENY, "no roles requested", [], [])
        if any(role != "dba" for role in roles):
            return ar.Decision(
                ar.Verdict.DENY, "only dba may be requested under this policy", [], []
            )
        tickets = next(
            (a.values for a in input.request.annotations if a.name == "ticket"), []
        )
        if not tickets or not tickets[0]:
            return pending("no ticket annotation: a human must review")
        if not working_hours(host.now_ms()):
            return pending("outside working hours: a human must review")
        return ar.Decision(
            ar.Verdict.APPROVE,
            f"ticket {tickets[0]} during working hours",
            [types.Annotation("approved-by", ["approve-dba"])],
            [],
        )
