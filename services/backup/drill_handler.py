"""The restore drill's Lambda entry point: one function, invoked by two schedules
with {"phase": "start"} and {"phase": "verify"} (see backup.drill for why).

Returns the phase's result as JSON, after publishing it as metrics and one log
line. A drill that fails or finds drift returns normally with passed=false
(DrillFailed=1, the alarm's metric): only an event without a known phase fails
the invocation.
"""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backup.drill import publish, run_phase
from backup.drill_settings import DrillSettings
from shared.aws import dynamodb
from shared.observability import LambdaHandler, instrumented

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def make_handler(client: "DynamoDBClient", settings: DrillSettings) -> LambdaHandler:
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        result = run_phase(
            client,
            settings,
            event.get("phase", ""),
            seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
        )
        publish(result)
        return asdict(result)

    return instrumented(lambda_handler)


# Built at import, as at a cold start: the settings are checked, a client is made,
# no AWS call.
lambda_handler = make_handler(dynamodb(), DrillSettings.from_env())
