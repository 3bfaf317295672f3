# dbus/: activation file, bus policy and introspection XML.
dist_dbussystemservice_DATA = dbus/org.vfio.Tokend1.service
dist_dbussystem_DATA = dbus/org.vfio.Tokend1.conf
# Kept identical to what the daemon serves by tests/integration/test-api.sh.
dist_dbusinterfaces_DATA = dbus/org.vfio.Tokend1.xml
