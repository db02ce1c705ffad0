"""Log groups that expire for the functions CDK adds by itself (custom-resource
providers, the BucketDeployment handler), as for the app's own."""

from tests.support.synth import Synth, account_assembly


def test_every_function_of_every_template_logs_to_a_group_that_expires(
    dev: Synth, prod: Synth
) -> None:
    """AWS (Lambda, CloudWatch Logs): a function without a LoggingConfig log group writes
    to /aws/lambda/<name>, which Lambda creates on first use with no retention: kept,
    and billed, forever. CDK's custom-resource providers and BucketDeployment handler are
    such functions unless given one. So every function, in every template (dev, prod
    and the account stack), names a log group of its template with the environment's
    retention."""
    _, account = account_assembly()
    account_functions = [
        r for r in account["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert not account_functions  # the account stack has none (it may hold no asset)
    for synth, days in ((dev, 14), (prod, 90)):
        groups = synth.of_type("AWS::Logs::LogGroup")
        functions = synth.of_type("AWS::Lambda::Function")
        assert len(functions) > 4  # the app's 4 and CDK's helpers
        for logical_id, function in functions.items():
            config = function["Properties"].get("LoggingConfig", {})
            assert "LogGroup" in config, f"{logical_id} logs to a group that never expires"
            group = config["LogGroup"]["Ref"]
            assert groups[group]["Properties"]["RetentionInDays"] == days, logical_id
