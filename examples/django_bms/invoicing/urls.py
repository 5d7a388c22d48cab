from django.urls import path

from invoicing import views

urlpatterns = [
    path("", views.invoice_list, name="invoice-list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<int:pk>/release/", views.release, name="invoice-release"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:pk>/link/", views.link_customer, name="customer-link"),
]
