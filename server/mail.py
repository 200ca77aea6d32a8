"""Outgoing mail. The embedded mode writes each message to a local mailbox folder (one .eml file)."""

from __future__ import annotations

import datetime as dt
import uuid
from email.message import EmailMessage
from pathlib import Path


class MailboxMailer:
    """Delivers into `folder/*.eml`; a production deployment swaps in an SMTP adapter."""

    def __init__(self, folder: Path, sender: str = "cutis <no-reply@cutis.local>") -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content(body)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        (self.folder / name).write_bytes(bytes(message))

    def messages(self) -> list[EmailMessage]:
        from email import message_from_bytes, policy

        return [
            message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(self.folder.glob("*.eml"))
        ]
