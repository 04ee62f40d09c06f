"""The worker services (`workers.search`, `workers.agenda`, `workers.sentiment`) and beat."""

import sys

from workers import startup

# Before the service's app (and with it `prometheus_client`) is imported: a prefork worker's
# pool processes must write their metrics where its main process reads them.
startup.prepare(sys.argv)
