"""business_hours: an extra function for role rules' `where` clauses, in Python (ABI v2).

    where: business_hours(user.spec.traits["tz"])

is true from Monday to Friday, 09:00 to 17:00, in the user's time zone, given as a UTC
offset (`+02:00`, `-05:30`, `Z`); a trait is a list, whose first value counts. Without a
usable offset the function fails, and the rule fails closed. Offsets rather than zone names:
the sandbox has no file system, so no time zone database.

Built with componentize-py for the `function-policy` world (see build.sh).
"""

import json

from wit_world import exports
from wit_world.exports import functions
from wit_world.imports import host, types
from componentize_py_types import Err


class Describe(exports.Describe):
    def get(self) -> types.Metadata:
        return types.Metadata(
            name="business-hours",
            version="1.0.0",
            functions=["business_hours"],
            capabilities=[types.Capability_Time()],
        )


def fail(message: str) -> Err:
    return Err(types.Failure(message, types.FailureKind.EVALUATION))


def offset_minutes(tz: str) -> int:
    if tz in ("Z", "UTC", "+00:00", "-00:00"):
        return 0
    sign = {"+": 1, "-": -1}.get(tz[:1])
    hours, _, minutes = tz[1:].partition(":")
    if sign is None or not hours.isdigit() or not (minutes or "0").isdigit():
        raise fail(f"time zone `{tz}` is not a UTC offset such as +02:00")
    return sign * (int(hours) * 60 + int(minutes or "0"))


class Functions(exports.Functions):
    def call(self, input: functions.Input) -> str:
        if input.name != "business_hours":
            raise fail(f"no function `{input.name}` here")
        if len(input.args) != 1:
            raise fail("business_hours takes one argument: a UTC offset")
        tz = json.loads(input.args[0])
        if isinstance(tz, list):
            tz = tz[0] if tz else None
        if not isinstance(tz, str):
            raise fail("business_hours needs a UTC offset such as +02:00")
        local_ms = host.now_ms() + offset_minutes(tz) * 60_000
        days = local_ms // 86_400_000
        weekday = (days + 4) % 7  # 0 = Sunday
        hour = (local_ms // 3_600_000) % 24
        return json.dumps(1 <= weekday <= 5 and 9 <= hour < 17)
