-- The shop schema and its accounts. mysql_install_db has already made root@localhost and
-- mysql@localhost, both authenticated by the Unix socket: `docker exec <db> mysql shop`
-- (as the container's user, mysql) needs no password, which is what the data check uses.
CREATE DATABASE shop CHARACTER SET utf8mb4;
CREATE TABLE shop.orders (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  item       VARCHAR(200)    NOT NULL,
  quantity   INT             NOT NULL,
  status     ENUM('queued', 'processing', 'shipped') NOT NULL DEFAULT 'queued',
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY status_created (status, created_at)
) ENGINE = InnoDB;
-- The web API and the worker: data only, no DDL.
CREATE USER 'shop'@'%' IDENTIFIED BY 'shop-app';
GRANT SELECT, INSERT, UPDATE ON shop.* TO 'shop'@'%';
-- prometheus-mysqld-exporter: the privileges its collectors read, and few sessions.
CREATE USER 'exporter'@'%' IDENTIFIED BY 'exporter' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'%';
