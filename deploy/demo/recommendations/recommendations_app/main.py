"""HTTP side of the recommendations service: POST /recommendations (what goes with a basket) and GET /healthz.

Run under the agent, as the demo image does (host and port from UVICORN_HOST / UVICORN_PORT):

    flowtrace-instrument uvicorn recommendations_app.main:app
"""
import os
from typing import List

from fastapi import FastAPI
from pydantic import BaseModel, Field

from recommendations_app.engine import PartnerCatalog, RecommendationEngine


class Item(BaseModel):
    sku: str
    qty: int = Field(default=1, ge=1)


class Basket(BaseModel):
    customer: str
    items: List[Item] = Field(min_length=1, max_length=100)


# The partner API's credential: the agent masks it wherever it appears as a captured argument.
engine = RecommendationEngine(PartnerCatalog(os.environ.get("PARTNER_API_TOKEN", "demo-partner-token")))
app = FastAPI(title="recommendations")


@app.get("/healthz")
def healthz():
    return {"status": "ok", "service": "recommendations"}


@app.post("/recommendations")
async def recommend(basket: Basket):
    skus = await engine.recommend(basket.customer, [item.sku for item in basket.items])
    return {"customer": basket.customer, "skus": skus}
