"""Convert a Shopify store's order export (Admin API JSON) into contract v1 events and reference CSVs.

`convert_shopify(src, out)` reads, in `src`, the JSON bodies the Admin REST API returns
(the shape of Shopify's own docs and sample payloads):

- `orders.json` (required; `orders*.json` pages too): `{"orders": [...]}`, each Order with its
  `line_items`, `shipping_address`, `shipping_lines`, `fulfillments` and `refunds` as the Order
  resource embeds them;
- `locations.json` (required): `{"locations": [...]}`, the store's locations;
- `fulfillments.json`, `refunds.json` (optional): `{"fulfillments": [...]}`, `{"refunds": [...]}`
  for exports that fetched them separately; merged with the embedded ones by id;
- `fulfillment_events.json` (optional): `{"fulfillment_events": [...]}`, the tracking events
  of fulfillments (`delivered`, `delayed`, `failure`, ...): where delivery times come from.

It writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`, which the
ingest lands without quarantine. Same input, same bytes: event ids are derived from Shopify ids
(`shopify:<order id>:placed`, `shopify:fulfillment:<id>:shipped`, ...).

What Shopify does not export, and what stands in for it (docs/adapters.md says the same):

- **Promises.** Shopify has no promised delivery date. `promised_by` is the order's
  `created_at` plus `promise_days` (default 5) calendar days, or, with `promise_attribute`, the
  value of that order note attribute (delivery-date apps write one: an RFC 3339 time or a
  YYYY-MM-DD date, read as the end of that day in the order's offset), falling back to
  `promise_days` where an order lacks it. The carriers' `transit_days` is the median of whole
  days from fulfilment to delivery per carrier, else `promise_days`.
- **Sourcing decisions.** No allocations are written: Shopify's REST export does not say which
  location was chosen or when; a fulfilment's `location_id` is where its lines shipped from.
- **Node types.** A location has no type; every location becomes a node of `node_type`
  (default `dc`). region = `province_code` (empty when the country has none: unknown).
- **Carrier cost.** Shopify knows what the customer paid for shipping, not what the carrier
  charged; a shipment's `shipping_cost` is the order's shipping charged shared equally among its
  fulfilments (to the cent, remainder on the first). Cost-to-serve shipping is therefore what
  was charged.
- **Returns.** Refunds become `refund.issued` (amount = the successful `refund` transactions);
  no return events are written (the Returns API is separate), so refunds count as money out
  with no return behind them in cost to serve.
- **Categories.** Line items carry no product type: every sku's category is `unknown`.

Events per order: `order.placed` at `created_at` (channel from `source_name`: web, pos ->
store, iphone/android -> app, shopify_draft_order -> call_center, any other sales channel ->
marketplace; customer_id = the customer's id, else `guest:<order id>`; ship_to from
`shipping_address` with postal code optional, region = province_code else country_code;
shipping_charged = sum of `shipping_lines` prices); `order.payment_authorized` at `processed_at`
when the financial status says money was taken; `shipment.shipped` per successful fulfilment at
its `created_at`; `shipment.delivered` at its first `delivered` event (else, when its
`shipment_status` is `delivered`, at its `updated_at`); `shipment.exception` for `delayed`,
`failure` and `attempted_delivery` events; `order.line_cancelled` at `cancelled_at` for units
never fulfilled (cancel_reason customer -> customer_request, inventory -> out_of_stock, fraud,
declined -> payment_failed, other); `refund.issued` per refund. An order without line items, or
without a shipping address country, is skipped with a reason; so is a fulfilment from a
location not in `locations.json`.

The code: `shopify_export` loads the export, `shopify_values` parses its values,
`shopify_orders`, `shopify_fulfillments` and `shopify_refunds` build the events of each Admin API
resource, `shopify_reference` the reference rows and `shopify_report` counts what happened.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters import shopify_reference
from pipelines.adapters.landing_files import LandingEvent, write_landing_folder
from pipelines.adapters.shopify_export import DEFAULT_NODE_TYPE, DEFAULT_PROMISE_DAYS, ShopifyExport
from pipelines.adapters.shopify_orders import convert_orders
from pipelines.adapters.shopify_report import ShopifyImportReport

__all__ = ["ShopifyImportReport", "convert_shopify"]


class _Converted:
    """The converted export as `write_landing_folder` takes it: its events and reference rows."""

    def __init__(self, export: ShopifyExport, events: list[LandingEvent]) -> None:
        self.export = export
        self.events = events

    def node_rows(self) -> list[dict[str, str]]:
        return shopify_reference.node_rows(self.export)

    def sku_rows(self) -> list[dict[str, str]]:
        return shopify_reference.sku_rows(self.export)

    def carrier_rows(self) -> list[dict[str, str]]:
        return shopify_reference.carrier_rows(self.export)


def convert_shopify(
    src: Path,
    out: Path,
    *,
    promise_days: int = DEFAULT_PROMISE_DAYS,
    promise_attribute: str | None = None,
    node_type: str = DEFAULT_NODE_TYPE,
) -> ShopifyImportReport:
    """Convert the Shopify export in `src` into contract events and reference CSVs under `out`.

    Writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`,
    overwriting files of the same name. Raises FileNotFoundError or ValueError saying what is
    missing or malformed.
    """
    src, out = Path(src), Path(out)
    export = ShopifyExport.read(
        src, promise_days=promise_days, promise_attribute=promise_attribute, node_type=node_type
    )
    events = convert_orders(export)
    write_landing_folder(out, _Converted(export, events), export.report)
    return export.report
