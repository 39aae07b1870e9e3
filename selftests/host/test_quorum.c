// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pure quorum unit (kernel/qbd_quorum.c): PGCL is the
 * 4th highest segment SCL, VCL follows the prefix rule across PGs, the
 * in-flight window limits allocation, the read pick honours SCL, state,
 * exclusions and latency, and recovery's VCL is the end of the gap-free run.
 */
#include "kselftest_harness.h"
#include "qbd_quorum.h"

#define MAXPG	4
#define WIN	16

struct qenv {
	struct qbd_quorum q;
	struct qbd_q_pg pg[MAXPG];
	struct qbd_q_entry ring[WIN];
};

static void qenv_init(struct qenv *e, u32 npgs, u32 window)
{
	memset(e, 0, sizeof(*e));
	qbd_q_init(&e->q, npgs, e->pg, e->ring, window, 0, 1, NULL);
}

/* one step of an ack table: (pg, slot, scl) then the expected VCL */
struct ack_step {
	u32 pg, slot;
	u64 scl, vcl;
};

TEST(pgcl_is_fourth_highest)
{
	static const u64 scls[][QBD_Q_NODES + 1] = {
		/* six SCLs, expected PGCL */
		{ 5, 4, 3, 2, 1, 0, 2 },
		{ 0, 1, 2, 3, 4, 5, 2 },
		{ 5, 5, 5, 0, 0, 0, 0 },
		{ 5, 5, 5, 5, 0, 0, 5 },
		{ 1, 5, 2, 5, 3, 5, 3 },
		{ 0, 0, 0, 0, 0, 0, 0 },
		{ 4, 4, 4, 4, 4, 4, 4 },
	};
	struct qenv e;
	u64 prev;
	size_t t;
	int i;

	for (t = 0; t < sizeof(scls) / sizeof(scls[0]); t++) {
		qenv_init(&e, 1, WIN);
		for (i = 0; i < 5; i++)
			ASSERT_EQ((u64)(i + 1), qbd_q_alloc(&e.q, 0, 0, &prev));
		for (i = 0; i < QBD_Q_NODES; i++)
			qbd_q_ack(&e.q, 0, (u32)i, scls[t][i]);
		EXPECT_EQ(scls[t][QBD_Q_NODES], qbd_q_pgcl(&e.q, 0));
		EXPECT_EQ(scls[t][QBD_Q_NODES], qbd_q_vcl(&e.q));
	}
}

static void run_table(struct __test_metadata *_metadata, struct qenv *e,
		      const struct ack_step *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		qbd_q_ack(&e->q, s[i].pg, s[i].slot, s[i].scl);
		EXPECT_EQ(s[i].vcl, qbd_q_vcl(&e->q)) {
			TH_LOG("step %zu: pg %u slot %u scl %llu", i, s[i].pg,
			       s[i].slot, (unsigned long long)s[i].scl);
		}
	}
}

TEST(vcl_prefix_rule)
{
	/* LSN 1 -> pg 0, 2 -> pg 1, 3 -> pg 0, 4 -> pg 1 */
	static const struct ack_step steps[] = {
		{ 1, 0, 2, 0 }, { 1, 1, 2, 0 }, { 1, 2, 2, 0 },
		{ 1, 3, 2, 0 },		/* LSN 2 durable, LSN 1 not: VCL 0 */
		{ 0, 0, 1, 0 }, { 0, 1, 1, 0 }, { 0, 2, 1, 0 },
		{ 0, 3, 1, 2 },		/* LSN 1 durable: VCL jumps to 2 */
		{ 1, 4, 4, 2 }, { 1, 5, 4, 2 }, { 1, 0, 4, 2 },
		{ 1, 1, 4, 2 },		/* LSN 4 durable but 3 is not */
		{ 0, 5, 3, 2 }, { 0, 4, 3, 2 }, { 0, 3, 3, 2 },
		{ 0, 2, 3, 4 },		/* 4th ack of 3: VCL 4 */
	};
	struct qenv e;
	u64 prev;

	qenv_init(&e, 2, WIN);
	ASSERT_EQ(1ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	EXPECT_EQ(0ULL, prev);
	ASSERT_EQ(2ULL, qbd_q_alloc(&e.q, 1, 0, &prev));
	EXPECT_EQ(0ULL, prev);
	ASSERT_EQ(3ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	EXPECT_EQ(1ULL, prev);
	ASSERT_EQ(4ULL, qbd_q_alloc(&e.q, 1, 1, &prev));
	EXPECT_EQ(2ULL, prev);
	run_table(_metadata, &e, steps, sizeof(steps) / sizeof(steps[0]));
	EXPECT_EQ(4ULL, qbd_q_vdl(&e.q));
	EXPECT_EQ(3ULL, qbd_q_read_point(&e.q, 0));
	EXPECT_EQ(4ULL, qbd_q_read_point(&e.q, 1));
}

TEST(three_acks_are_not_durable)
{
	static const struct ack_step steps[] = {
		{ 0, 0, 1, 0 }, { 0, 1, 1, 0 }, { 0, 2, 1, 0 },
		{ 0, 2, 1, 0 },		/* a repeated ack does not count twice */
		{ 0, 2, 0, 0 },		/* an older SCL is ignored */
		{ 0, 5, 1, 1 },
	};
	struct qenv e;
	u64 prev;

	qenv_init(&e, 1, WIN);
	ASSERT_EQ(1ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	run_table(_metadata, &e, steps, sizeof(steps) / sizeof(steps[0]));
}

TEST(scl_clamped_to_allocated)
{
	struct qenv e;
	u64 prev;
	int i;

	qenv_init(&e, 1, WIN);
	ASSERT_EQ(1ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	for (i = 0; i < 4; i++)
		qbd_q_ack(&e.q, 0, (u32)i, 1000);
	EXPECT_EQ(1ULL, qbd_q_vcl(&e.q));
	EXPECT_EQ(1ULL, e.q.pg[0].slot[0].scl);
}

TEST(window_full)
{
	struct qenv e;
	u64 prev;
	int i;

	qenv_init(&e, 1, 4);
	for (i = 0; i < 4; i++)
		ASSERT_EQ((u64)(i + 1), qbd_q_alloc(&e.q, 0, 0, &prev));
	EXPECT_EQ(0, qbd_q_can_alloc(&e.q));
	EXPECT_EQ(0ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	for (i = 0; i < 4; i++)
		qbd_q_ack(&e.q, 0, (u32)i, 2);
	EXPECT_EQ(2ULL, qbd_q_vcl(&e.q));
	EXPECT_NE(0, qbd_q_can_alloc(&e.q));
	EXPECT_EQ(5ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	EXPECT_EQ(4ULL, prev);
	EXPECT_EQ(6ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
	EXPECT_EQ(0ULL, qbd_q_alloc(&e.q, 0, 0, &prev));
}

TEST(init_after_recovery)
{
	/* recovered VCL 100, truncation (100, 100 + 2^32]: the writer starts
	 * its quorum at vcl = next_lsn - 1 so the range counts as complete
	 */
	u64 last[2] = { 99, 100 }, next = 100 + (1ULL << 32) + 1, prev;
	struct qenv e;
	int i;

	memset(&e, 0, sizeof(e));
	ASSERT_EQ(0, qbd_q_init(&e.q, 2, e.pg, e.ring, WIN, next - 1, next,
				last));
	EXPECT_EQ(99ULL, qbd_q_read_point(&e.q, 0));
	EXPECT_EQ(100ULL, qbd_q_read_point(&e.q, 1));
	ASSERT_NE(0, qbd_q_can_alloc(&e.q));
	ASSERT_EQ(next, qbd_q_alloc(&e.q, 1, 0, &prev));
	EXPECT_EQ(100ULL, prev);
	for (i = 0; i < 4; i++)
		qbd_q_ack(&e.q, 1, (u32)i, next);
	EXPECT_EQ(next, qbd_q_vcl(&e.q));
	EXPECT_EQ(next, qbd_q_read_point(&e.q, 1));
	/* next_lsn must lie above vcl */
	EXPECT_NE(0, qbd_q_init(&e.q, 2, e.pg, e.ring, WIN, 10, 10, NULL));
}

TEST(read_pick)
{
	struct qenv e;
	u64 prev;
	int i;

	qenv_init(&e, 1, WIN);
	for (i = 0; i < 3; i++)
		qbd_q_alloc(&e.q, 0, 0, &prev);
	/* slots 0..5 SCL 3,3,2,3,3,1 */
	qbd_q_ack(&e.q, 0, 0, 3);
	qbd_q_ack(&e.q, 0, 1, 3);
	qbd_q_ack(&e.q, 0, 2, 2);
	qbd_q_ack(&e.q, 0, 3, 3);
	qbd_q_ack(&e.q, 0, 4, 3);
	qbd_q_ack(&e.q, 0, 5, 1);
	ASSERT_EQ(3ULL, qbd_q_vcl(&e.q));
	/* unknown latency first: slot 0 (lowest index among unknown) */
	EXPECT_EQ(0, qbd_q_pick_read(&e.q, 0, 3, 0));
	qbd_q_note_latency(&e.q, 0, 0, 500);
	qbd_q_note_latency(&e.q, 0, 1, 100);
	qbd_q_note_latency(&e.q, 0, 3, 300);
	qbd_q_note_latency(&e.q, 0, 4, 200);
	qbd_q_note_latency(&e.q, 0, 2, 1);	/* fast but SCL too low */
	EXPECT_EQ(1, qbd_q_pick_read(&e.q, 0, 3, 0));
	EXPECT_EQ(4, qbd_q_pick_read(&e.q, 0, 3, 1U << 1));
	qbd_q_set_state(&e.q, 0, 4, QBD_Q_SLOT_DEAD);
	EXPECT_EQ(3, qbd_q_pick_read(&e.q, 0, 3, 1U << 1));
	EXPECT_EQ(2, qbd_q_pick_read(&e.q, 0, 2, 0));
	EXPECT_EQ(QBD_Q_NO_NODE,
		  qbd_q_pick_read(&e.q, 0, 3, (1U << 0) | (1U << 1) | (1U << 3)));
	EXPECT_EQ(5u, qbd_q_live(&e.q, 0));
	qbd_q_set_state(&e.q, 0, 4, QBD_Q_SLOT_LIVE);
	EXPECT_EQ(6u, qbd_q_live(&e.q, 0));
}

TEST(recover_vcl)
{
	static const struct {
		u64 base;
		u64 lsns[6];
		u32 n;
		u64 vcl;
	} t[] = {
		{ 10, { 11, 12, 14 }, 3, 12 },
		{ 10, { 9, 10, 11 }, 3, 11 },
		{ 10, { 0 }, 0, 10 },
		{ 10, { 12, 13 }, 2, 10 },
		{ 0, { 1, 2, 3, 4, 5, 6 }, 6, 6 },
		{ 0, { 2, 3 }, 2, 0 },
		{ 5, { 1, 2, 6, 7, 9 }, 5, 7 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		EXPECT_EQ(t[i].vcl, qbd_q_recover_vcl(t[i].base, t[i].lsns,
						      t[i].n)) {
			TH_LOG("case %zu", i);
		}
}

TEST_HARNESS_MAIN
