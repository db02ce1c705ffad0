"""What a page in the end-to-end tests may not do: log a console error or throw."""

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Error


@dataclass
class BrowserErrors:
    """Console errors and uncaught exceptions of a page; a test that injects a
    failed request allows the browser's own "Failed to load resource" line for it."""

    messages: list[str] = field(default_factory=list)
    allow_failed_api_requests: bool = False

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed_api_request = message.text.startswith("Failed to load resource") and (
            "/api/" in (message.location or {}).get("url", "")
        )
        if failed_api_request and self.allow_failed_api_requests:
            return
        self.messages.append(f"console: {message.text} ({message.location})")

    def on_page_error(self, error: Error) -> None:
        self.messages.append(f"uncaught: {error}")
