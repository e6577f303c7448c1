#!/bin/sh
# Build-time only: initialise /var/lib/mysql and load init.sql with networking off.
set -eu
mysql_install_db --user=mysql --skip-test-db --auth-root-authentication-method=socket >/dev/null
mariadbd --skip-networking --socket=/run/mysqld/build.sock --log-error=/tmp/build.err &
pid=$!
i=0
until mariadb-admin --socket=/run/mysqld/build.sock ping >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { cat /tmp/build.err; exit 1; }; sleep 0.5
done
mariadb --socket=/run/mysqld/build.sock < /usr/local/share/orders-db/init.sql
mariadb-admin --socket=/run/mysqld/build.sock shutdown
wait "$pid" || true
rm -f /tmp/build.err
