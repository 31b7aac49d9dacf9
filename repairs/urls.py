from django.urls import path

from repairs import views
from repairs.models import Repair
from repairs.services import MERCHANT, STEPS, TECHNICIAN
from tickets.urls import ReferenceConverter  # noqa: F401 - registers <ref:...>

app_name = "repairs"

M = Repair.Method
START_PATHS = {M.VISIT: "visit", M.SEND_IN: "send-in", M.SWAP: "swap"}

urlpatterns = [
    # The technician: choose how (one entry per method), then each step of the table.
    *(
        path(
            f"work/tickets/<ref:reference>/repair/{slug}/",
            views.work_start,
            {"method": method},
            name=f"work_start_{method}",
        )
        for method, slug in START_PATHS.items()
    ),
    *(
        path(
            f"work/tickets/<ref:reference>/repair/{name.replace('_', '-')}/",
            views.work_step,
            {"name": name},
            name=f"work_{name}",
        )
        for name, step in STEPS.items()
        if TECHNICIAN in step.roles
    ),
    path("work/tickets/<ref:reference>/repair/receipt/", views.work_receipt, name="work_receipt"),
    # The shop
    *(
        path(
            f"tickets/<ref:reference>/repair/{name.replace('_', '-')}/",
            views.merchant_step,
            {"name": name},
            name=name,
        )
        for name, step in STEPS.items()
        if MERCHANT in step.roles
    ),
    path("tickets/<ref:reference>/repair/receipt/", views.receipt, name="receipt"),
]
