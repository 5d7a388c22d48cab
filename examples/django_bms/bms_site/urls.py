from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Example BMS · Admin"
admin.site.site_title = "Example BMS admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("xero/", include("bms_xero.contrib.django.urls")),
    path("", include("invoicing.urls")),
]
