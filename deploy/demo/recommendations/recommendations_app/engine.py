"""What the customer may want next: the partner catalogue's related products, ranked and minus what
is already in the basket. Every function and method here is a span under the agent."""
import asyncio
from typing import Dict, List

# The partner catalogue, kept in memory: a real one would be a remote API called with the token.
RELATED: Dict[str, List[str]] = {
    "apple": ["pear", "honey", "oats"],
    "pear": ["apple", "cheese"],
    "coffee": ["milk", "biscuits", "honey"],
    "milk": ["coffee", "oats"],
}
POPULARITY: Dict[str, int] = {"honey": 9, "oats": 7, "milk": 8, "biscuits": 6, "pear": 5, "apple": 5, "cheese": 4, "coffee": 9}


class PartnerCatalog:
    def __init__(self, api_token: str):
        self._api_token = api_token

    async def related(self, sku: str) -> List[str]:
        return await self.fetch_related(sku, self._api_token)

    async def fetch_related(self, sku: str, api_token: str) -> List[str]:
        """The partner call (a secret-named parameter: its value is masked in the span)."""
        await asyncio.sleep(0.001)  # where a real client would wait on the network
        return list(RELATED.get(sku, []))


class RecommendationEngine:
    def __init__(self, catalog: PartnerCatalog, limit: int = 3):
        self.catalog = catalog
        self.limit = limit

    async def recommend(self, customer: str, skus: List[str]) -> List[str]:
        related = await asyncio.gather(*(self.catalog.related(sku) for sku in skus))
        candidates = {sku for group in related for sku in group} - set(skus)
        return rank(candidates)[: self.limit]


def rank(candidates) -> List[str]:
    """Most popular first; ties by name, so that the answer is stable."""
    return sorted(candidates, key=lambda sku: (-POPULARITY.get(sku, 0), sku))
