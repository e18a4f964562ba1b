"""Convert the Olist marketplace export into contract v1 events and reference CSVs.

`convert_olist(src, out)` reads the seven Olist CSVs in `src` and writes
`out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`, which the ingest
lands without quarantine. The
same input always gives the same bytes: event ids are derived from Olist keys
(`olist:<order_id>:placed`, `olist:<order_id>:<line_id>:allocated`, ...), files are split by the
local month of `occurred_at` and ordered by instant, then event_id.

The code: `olist_source` reads and parses the CSVs, `olist_export` holds the export in memory,
`olist_orders` builds each order's events, `olist_reference` the reference rows and
`olist_report` counts what happened to every row.

Mapping decisions (Olist has no OMS; these say what each of its facts stands for):

Reference data
- Every seller is a fulfilment node of type `dropship`: marketplace sellers pick, pack and hand
  to the carrier themselves. name = seller city, region = seller state, country = BR, lat/lon =
  the state's centroid (`brazil_states`, no geolocation table is shipped). Capacity, pick/pack
  cost and opening date are unknown and left empty, never zero.
- Every product that was sold is a sku: category = English name from the translation table,
  else the Portuguese name (e.g. `pc_gamer` has no translation), else `unknown`; unit_price = the
  median item price of that product (BRL, rounded half-even to cents); weight_kg =
  product_weight_g / 1000 when given. unit_cost and abc_class are unknown. Products never sold
  are left out and counted in the report.
- One carrier row, `correios` / `standard`: Olist does not name its carriers. transit_days = the
  median of whole days from hand-off to carrier (order_delivered_carrier_date) to delivery
  (order_delivered_customer_date), over orders with both, ignoring the few where delivery
  precedes hand-off (data errors). It is 7 days on the 10,000-order 2017 sample.

Time
- Olist stamps local wall-clock time without offset. Times are read as America/Sao_Paulo and
  written as RFC 3339 with the offset in force: -02:00 in summer time (in 2017 until 18 Feb and
  from 15 Oct), -03:00 otherwise. Sellers and customers in other zones (e.g. Amazonas) are stamped
  in Sao Paulo time too, so one zone is the faithful reading.
- promised_by = order_estimated_delivery_date at its stamped local midnight, not the end of that
  day. Measured on the full sample: with midnight, 663 of 9,648 delivered orders are late
  (6.87%; January 1.73%, November 14.76%), matching the README's 6.87% / 1.7% / 14.8%; with the
  end of the day it would be 574 (5.95%). So a parcel delivered on the promised date counts late,
  as in Olist's own figure.

Events per order
- `order.placed` at order_purchase_timestamp: channel marketplace, fulfillment_method delivery,
  customer_id = customer_unique_id (stable across a customer's orders; customer_id is per order),
  ship_to = customer zip prefix as 5-digit text (restored leading zeros), state, BR and the state
  centroid; currency BRL; one line per order_items row (line_id = order_item_id, sku =
  product_id, quantity 1, unit_price = price); shipping_charged = sum of freight_value. An order
  without items cannot be placed (the contract needs >= 1 line) and is skipped with reason
  `no_items`: in the 2017 sample these are all 98 `unavailable` orders, 11 `canceled` and the 2
  `created` ones, so no `out_of_stock` cancellation can be produced from this sample.
- `order.payment_authorized` at order_approved_at: amount = sum of payment_value, payment_method
  = type of the largest payment (lowest payment_sequential on a tie). Not written without an
  approval time.
- `order.line_allocated` per item at approval (purchase time when never approved): node = the
  seller, attempt 1, planned_ship_by = shipping_limit_date, carrier/service of the carrier row,
  estimated_ship_cost = freight_value.
- One shipment per (order, seller), shipment_id `<order_id>:<seller_id>`: `shipment.shipped` at
  order_delivered_carrier_date with that seller's lines, shipping_cost = their freight and
  weight_kg when every product weight is known; `shipment.delivered` at
  order_delivered_customer_date. Olist stamps these per order, so all shipments of a multi-seller
  order share them. An event whose time is missing is not written (counted in the report).
- Status `canceled` -> `order.line_cancelled` per line with reason `other` (the export holds no
  evidence of who cancelled); `unavailable` -> reason `out_of_stock`; both at the order's last
  known time, and a cancelled order gets no shipment events even if it carries their times.
  `processing`, `invoiced`, `created` and `shipped` orders stop where their data stops.
- An order whose customer or seller is not in the reference files (a seller without a state
  cannot be a node either), or with a malformed value, is skipped with a reason
  (`unknown_customer`, `unknown_seller`, `invalid_value:<column>`). None occurs in the sample.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters import olist_reference
from pipelines.adapters.landing_files import LandingEvent, write_landing_folder
from pipelines.adapters.olist_export import OlistExport
from pipelines.adapters.olist_orders import convert_orders
from pipelines.adapters.olist_report import OlistImportReport

__all__ = ["OlistImportReport", "convert_olist"]


class _Converted:
    """The converted export as `write_landing_folder` takes it: its events and reference rows."""

    def __init__(self, export: OlistExport, events: list[LandingEvent]) -> None:
        self.export = export
        self.events = events

    def node_rows(self) -> list[dict[str, str]]:
        return olist_reference.node_rows(self.export)

    def sku_rows(self) -> list[dict[str, str]]:
        return olist_reference.sku_rows(self.export)

    def carrier_rows(self) -> list[dict[str, str]]:
        return olist_reference.carrier_rows(self.export)


def convert_olist(src: Path, out: Path) -> OlistImportReport:
    """Convert the Olist export in `src` into contract events and reference CSVs under `out`.

    Writes `out/events/<YYYY-MM>.jsonl` and `out/reference/{nodes,skus,carriers}.csv`,
    overwriting files of the same name and leaving any other file alone. Raises ValueError
    naming what is missing when `src` lacks a required CSV or column.
    """
    src, out = Path(src), Path(out)
    export = OlistExport.read(src)
    events = convert_orders(export)
    write_landing_folder(out, _Converted(export, events), export.report)
    return export.report
