// SPDX-License-Identifier: GPL-2.0
/*
 * The volume catalog in SQLite (schema in catalog.h). Small and boring on
 * purpose: every function is one prepared statement; a busy timeout lets
 * qbdctl and tests open the same file concurrently.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include "catalog.h"

struct qbd_catalog {
	sqlite3 *db;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS volumes ("
	" name TEXT NOT NULL UNIQUE, id INTEGER PRIMARY KEY,"
	" size INTEGER NOT NULL, pg_size INTEGER NOT NULL,"
	" epoch INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nodes ("
	" id INTEGER PRIMARY KEY, az INTEGER NOT NULL,"
	" host TEXT NOT NULL, port INTEGER NOT NULL);";

const char *qbd_catalog_default_path(char *buf, size_t len)
{
	const char *p = getenv("QBD_CATALOG");
	char dir[400];

	if (p && *p)
		snprintf(buf, len, "%s", p);
	else
		snprintf(buf, len, "%s/catalog.db",
			 qbd_cluster_default_dir(dir, sizeof(dir)));
	return buf;
}

int qbd_catalog_open(const char *path, struct qbd_catalog **out, char *err,
		     size_t errlen)
{
	struct qbd_catalog *cat = calloc(1, sizeof(*cat));
	char def[512], *msg = NULL;

	if (!cat)
		return -ENOMEM;
	if (!path)
		path = qbd_catalog_default_path(def, sizeof(def));
	if (sqlite3_open(path, &cat->db) != SQLITE_OK) {
		snprintf(err, errlen, "catalog %s: %s", path,
			 sqlite3_errmsg(cat->db));
		goto fail;
	}
	sqlite3_busy_timeout(cat->db, 5000);
	if (sqlite3_exec(cat->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "catalog %s: %s", path, msg);
		sqlite3_free(msg);
		goto fail;
	}
	*out = cat;
	return 0;
fail:
	sqlite3_close(cat->db);
	free(cat);
	return -EIO;
}

void qbd_catalog_close(struct qbd_catalog *cat)
{
	if (!cat)
		return;
	sqlite3_close(cat->db);
	free(cat);
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int qbd_catalog_add_volume(struct qbd_catalog *cat, struct qbd_volume_info *v)
{
	sqlite3_stmt *st;
	int r;

	if (!v->id) {
		if (sqlite3_prepare_v2(cat->db,
				       "SELECT COALESCE(MAX(id), 0) + 1 FROM volumes",
				       -1, &st, NULL) != SQLITE_OK)
			return -EIO;
		if (sqlite3_step(st) == SQLITE_ROW)
			v->id = (u64)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (!v->id)
			return -EIO;
	}
	if (!v->created)
		v->created = time(NULL);
	if (sqlite3_prepare_v2(cat->db,
			       "INSERT INTO volumes(name, id, size, pg_size, epoch, created)"
			       " VALUES(?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, v->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)v->id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)v->size);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)v->pg_size);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)v->epoch);
	sqlite3_bind_int64(st, 6, v->created);
	r = step_done(st);
	return r;
}

static void row_to_info(sqlite3_stmt *st, struct qbd_volume_info *v)
{
	const unsigned char *name = sqlite3_column_text(st, 0);

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name ? (const char *)name : "");
	v->id = (u64)sqlite3_column_int64(st, 1);
	v->size = (u64)sqlite3_column_int64(st, 2);
	v->pg_size = (u64)sqlite3_column_int64(st, 3);
	v->epoch = (u64)sqlite3_column_int64(st, 4);
	v->created = sqlite3_column_int64(st, 5);
}

#define VOL_COLS "name, id, size, pg_size, epoch, created"

int qbd_catalog_get_volume(struct qbd_catalog *cat, const char *key,
			   struct qbd_volume_info *v)
{
	const char *p = key;
	sqlite3_stmt *st;
	int by_id = *key != 0, r;

	for (; *p; p++)
		if (*p < '0' || *p > '9')
			by_id = 0;
	if (sqlite3_prepare_v2(cat->db, by_id ?
			       "SELECT " VOL_COLS " FROM volumes WHERE id = ?" :
			       "SELECT " VOL_COLS " FROM volumes WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (by_id)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)strtoull(key, NULL, 10));
	else
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		row_to_info(st, v);
		r = 0;
	} else {
		r = r == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

int qbd_catalog_set_epoch(struct qbd_catalog *cat, u64 id, u64 epoch)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(cat->db,
			       "UPDATE volumes SET epoch = MAX(epoch, ?) WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)epoch);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)id);
	return step_done(st);
}

int qbd_catalog_del_volume(struct qbd_catalog *cat, u64 id)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(cat->db, "DELETE FROM volumes WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	return step_done(st);
}

int qbd_catalog_list(struct qbd_catalog *cat, struct qbd_volume_info **out,
		     u32 *n)
{
	struct qbd_volume_info *v = NULL, *t;
	sqlite3_stmt *st;
	u32 cnt = 0;
	int rc;

	if (sqlite3_prepare_v2(cat->db, "SELECT " VOL_COLS
			       " FROM volumes ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = realloc(v, sizeof(*v) * (cnt + 1));
		if (!t) {
			free(v);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		v = t;
		row_to_info(st, &v[cnt++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int qbd_catalog_set_nodes(struct qbd_catalog *cat, const struct qbd_cluster *c)
{
	sqlite3_stmt *st;
	u32 i;
	int r = 0;

	if (sqlite3_exec(cat->db, "BEGIN; DELETE FROM nodes;", NULL, NULL,
			 NULL) != SQLITE_OK)
		return -EIO;
	for (i = 0; i < c->nnodes && !r; i++) {
		if (sqlite3_prepare_v2(cat->db,
				       "INSERT INTO nodes(id, az, host, port) VALUES(?, ?, ?, ?)",
				       -1, &st, NULL) != SQLITE_OK) {
			r = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, c->node[i].id);
		sqlite3_bind_int64(st, 2, c->node[i].az);
		sqlite3_bind_text(st, 3, c->node[i].host, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, c->node[i].port);
		r = step_done(st);
	}
	sqlite3_exec(cat->db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return r;
}
