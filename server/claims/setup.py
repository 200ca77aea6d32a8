"""The clinic's billing setup: who bills, who renders, and how each clearinghouse names the payers.

Validated on the way in with a precise path per problem (`parse_billing_setup`), so a claim is never
built from a setup with a bad NPI check digit, a tax id that is not nine digits or a payer no
clearinghouse can route.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rulebooks.models.encounter import NPI_FORMAT, npi_check_digit_ok, valid_npi
from server.errors import FieldError, InputInvalid
from server.validation_paths import field_errors

#: Characters an X12 file uses as separators: a name holding one would split its segment.
X12_DELIMITERS = frozenset("*:^~")
TAXONOMY_FORMAT = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
X12_ID_FORMAT = re.compile(r"^[A-Z0-9]{2,15}$")
MAX_RENDERING_PROVIDERS = 200
MAX_CLEARINGHOUSES = 10
MAX_PAYERS = 500


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def x12_text(value: str) -> str:
    """A name or address line as an X12 element takes it: upper case, no separator characters."""
    if any(character in X12_DELIMITERS for character in value):
        raise ValueError("may not contain * : ^ or ~ (X12 separators)")
    if not value.isascii() or not value.isprintable():
        raise ValueError("only printable ASCII characters")
    return value.upper()


def npi(value: str) -> str:
    """`valid_npi`, saying how the check digit is made when it is wrong (a biller may compute it)."""
    if NPI_FORMAT.match(value) and not npi_check_digit_ok(value):
        raise ValueError("the NPI check digit is wrong (the tenth digit is a Luhn check over 80840 and the first nine)")
    return valid_npi(value)


class Address(Frozen):
    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$", description="Two-letter state code, e.g. TX.")
    postal_code: str = Field(description="ZIP code: 5 digits, or 9 (required for the billing provider).")

    _text = field_validator("line1", "line2", "city")(classmethod(lambda cls, v: v if v is None else x12_text(v)))

    @field_validator("postal_code")
    @classmethod
    def _zip(cls, value: str) -> str:
        digits = value.replace("-", "")
        if not re.fullmatch(r"[0-9]{5}([0-9]{4})?", digits):
            raise ValueError("a ZIP code is 5 or 9 digits, e.g. 78701-1234")
        return digits


class BillingProvider(Frozen):
    name: str = Field(min_length=1, max_length=60, description="The organization's legal name.")
    npi: str = Field(description="Type 2 (organization) NPI, 10 digits with its check digit.")
    tax_id: str = Field(description="Employer identification number, 9 digits (12-3456789).")
    taxonomy: str | None = Field(default=None, description="Provider taxonomy code, e.g. 207N00000X (dermatology).")
    address: Address

    _name = field_validator("name")(classmethod(lambda cls, v: x12_text(v)))
    _npi = field_validator("npi")(classmethod(lambda cls, v: npi(v)))

    @field_validator("tax_id")
    @classmethod
    def _tax_id(cls, value: str) -> str:
        digits = value.replace("-", "")
        if not re.fullmatch(r"[0-9]{9}", digits):
            raise ValueError("a tax id (EIN) is 9 digits, e.g. 74-1234567")
        return digits

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy(cls, value: str | None) -> str | None:
        if value is not None and not TAXONOMY_FORMAT.match(value.upper()):
            raise ValueError("a taxonomy code is 10 characters ending in X, e.g. 207N00000X")
        return value.upper() if value else value


class RenderingProvider(Frozen):
    npi: str
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)
    taxonomy: str | None = None

    _npi = field_validator("npi")(classmethod(lambda cls, v: npi(v)))
    _names = field_validator("last_name", "first_name")(classmethod(lambda cls, v: x12_text(v)))
    _taxonomy = field_validator("taxonomy")(classmethod(lambda cls, v: BillingProvider._taxonomy(v)))


class PayerId(Frozen):
    payer: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="The clinic's payer code, e.g. AETNA.")
    payer_id: str = Field(min_length=2, max_length=80, description="The id this clearinghouse routes the payer by.")
    name: str = Field(min_length=1, max_length=60, description="The payer's name as printed on the claim.")

    _name = field_validator("name", "payer_id")(classmethod(lambda cls, v: x12_text(v)))


class Contact(Frozen):
    name: str = Field(min_length=1, max_length=60)
    phone: str = Field(description="10 digits.")

    _name = field_validator("name")(classmethod(lambda cls, v: x12_text(v)))

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = re.sub(r"[ ()\-.]", "", value)
        if not re.fullmatch(r"[0-9]{10}", digits):
            raise ValueError("a phone number is 10 digits, e.g. 512-555-0100")
        return digits


class Clearinghouse(Frozen):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="The clinic's short name for it.")
    name: str = Field(min_length=1, max_length=60, description="Receiver name (loop 1000B).")
    submitter_id: str = Field(description="The clinic's submitter id at this clearinghouse (ISA06, loop 1000A).")
    receiver_id: str = Field(description="The clearinghouse's receiver id (ISA08, loop 1000B).")
    usage: Literal["T", "P"] = Field(default="T", description="T: test files; P: production.")
    payer_ids: list[PayerId] = Field(default_factory=list, max_length=MAX_PAYERS)

    _name = field_validator("name")(classmethod(lambda cls, v: x12_text(v)))

    @field_validator("submitter_id", "receiver_id")
    @classmethod
    def _x12_id(cls, value: str) -> str:
        if not X12_ID_FORMAT.match(value.upper()):
            raise ValueError("an interchange id is 2 to 15 letters or digits")
        return value.upper()

    def payer(self, code: str) -> PayerId | None:
        return next((entry for entry in self.payer_ids if entry.payer == code), None)


class BillingSetup(Frozen):
    """What a claim needs from the clinic, besides the coding and the patient."""

    billing_provider: BillingProvider
    submitter: Contact = Field(description="Who answers the clearinghouse about the files (loop 1000A PER).")
    rendering_providers: list[RenderingProvider] = Field(min_length=1, max_length=MAX_RENDERING_PROVIDERS)
    clearinghouses: list[Clearinghouse] = Field(min_length=1, max_length=MAX_CLEARINGHOUSES)
    default_clearinghouse: str | None = Field(default=None, description="The code of the one used by default.")

    def clearinghouse(self, code: str | None = None) -> Clearinghouse:
        """The named clearinghouse, else the default, else the only one; KeyError naming the choice otherwise."""
        chosen = chosen_clearinghouse([house.code for house in self.clearinghouses], code, self.default_clearinghouse)
        return next(house for house in self.clearinghouses if house.code == chosen)

    def rendering_provider(self, npi: str) -> RenderingProvider | None:
        return next((provider for provider in self.rendering_providers if provider.npi == npi), None)


def parse_billing_setup(payload: Any) -> BillingSetup:
    """The billing setup, or `InputInvalid` naming each bad field's path and why (values never echoed)."""
    try:
        setup = BillingSetup.model_validate(payload)
    except ValidationError as error:
        raise InputInvalid("the billing setup is not valid", field_errors(error, root="billing_setup")) from None
    problems = consistency_problems(setup)
    if problems:
        raise InputInvalid("the billing setup is not valid", problems)
    return setup


def consistency_problems(setup: BillingSetup) -> list[FieldError]:
    """What each field allows on its own but the setup as a whole does not: twins, a default that is absent."""
    problems: list[FieldError] = []
    if len(setup.billing_provider.address.postal_code) != 9:
        problems.append(
            FieldError("billing_provider.address.postal_code", "the billing provider's ZIP code has 9 digits (ZIP+4)")
        )
    npis: set[str] = set()
    for index, provider in enumerate(setup.rendering_providers):
        if provider.npi in npis:
            problems.append(FieldError(f"rendering_providers[{index}].npi", "this NPI is listed twice"))
        npis.add(provider.npi)
    codes: set[str] = set()
    for house_index, house in enumerate(setup.clearinghouses):
        if house.code in codes:
            problems.append(FieldError(f"clearinghouses[{house_index}].code", f"{house.code!r} is used twice"))
        codes.add(house.code)
        payers: set[str] = set()
        for index, entry in enumerate(house.payer_ids):
            if entry.payer in payers:
                path = f"clearinghouses[{house_index}].payer_ids[{index}].payer"
                problems.append(FieldError(path, f"payer {entry.payer!r} has an id here already"))
            payers.add(entry.payer)
    if setup.default_clearinghouse is not None and setup.default_clearinghouse not in codes:
        problems.append(FieldError("default_clearinghouse", "is not the code of one of the clearinghouses"))
    return problems


def chosen_clearinghouse(codes: list[str], wanted: str | None, default: str | None) -> str:
    """The code of the clearinghouse a claim goes to: the named one, else the default, else the only one;
    KeyError naming the choice otherwise. (Also read from a stored setup's JSON, without the model.)"""
    wanted = wanted or default
    if wanted is None:
        if len(codes) == 1:
            return codes[0]
        raise KeyError("several clearinghouses and no default_clearinghouse: name one")
    if wanted not in codes:
        raise KeyError(f"no clearinghouse {wanted!r} in the billing setup")
    return wanted
