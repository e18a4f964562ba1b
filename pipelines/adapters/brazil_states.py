"""Approximate geographic centroids of the 27 Brazilian federative units (26 states and the DF).

Olist exports carry a state and a 5-digit zip prefix but no coordinates (the geolocation table
is 61 MB and not shipped). A state centroid is public geographic fact and good enough for the
question the marts ask (how far did a parcel travel between states); it is wrong by up to a few
hundred km inside the large northern states, so distances built from it are estimates.

Values are (latitude, longitude) in decimal degrees, rounded to two decimals.
"""

from __future__ import annotations

STATE_CENTROIDS: dict[str, tuple[float, float]] = {
    "AC": (-8.77, -70.55),  # Acre
    "AL": (-9.62, -36.82),  # Alagoas
    "AM": (-3.47, -65.10),  # Amazonas
    "AP": (1.41, -51.77),  # Amapa
    "BA": (-12.96, -41.70),  # Bahia
    "CE": (-5.20, -39.53),  # Ceara
    "DF": (-15.83, -47.86),  # Distrito Federal
    "ES": (-19.19, -40.34),  # Espirito Santo
    "GO": (-15.98, -49.86),  # Goias
    "MA": (-5.42, -45.44),  # Maranhao
    "MG": (-18.10, -44.38),  # Minas Gerais
    "MS": (-20.51, -54.54),  # Mato Grosso do Sul
    "MT": (-12.64, -55.42),  # Mato Grosso
    "PA": (-3.79, -52.48),  # Para
    "PB": (-7.28, -36.72),  # Paraiba
    "PE": (-8.38, -37.86),  # Pernambuco
    "PI": (-6.60, -42.28),  # Piaui
    "PR": (-24.89, -51.55),  # Parana
    "RJ": (-22.25, -42.66),  # Rio de Janeiro
    "RN": (-5.81, -36.59),  # Rio Grande do Norte
    "RO": (-10.83, -63.34),  # Rondonia
    "RR": (1.99, -61.33),  # Roraima
    "RS": (-30.17, -53.50),  # Rio Grande do Sul
    "SC": (-27.45, -50.95),  # Santa Catarina
    "SE": (-10.57, -37.45),  # Sergipe
    "SP": (-22.19, -48.79),  # Sao Paulo
    "TO": (-9.46, -48.26),  # Tocantins
}


def state_centroid(state: str) -> tuple[float, float] | None:
    """(lat, lon) of a state given by its two-letter code, or None when the code is unknown."""
    return STATE_CENTROIDS.get(state.strip().upper())
