/*
 * geometry.c: where every block of an md RAID5/RAID6 stripe lives: the
 * kernel's raid5_compute_sector() for each layout, and the Q syndrome slot
 * order of raid6_d0()/raid6_idx_to_slot() (all in drivers/md/raid5.c). A
 * geometry is a value (struct md_geom), so a reshape's old and new
 * geometries can be used side by side.
 *
 * Stripe s occupies rel sectors [s*chunk, (s+1)*chunk) on every member; its
 * logical data block k is array chunk s*nd + k.
 */
#include "mdraid_int.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	int layout;
	int levels; /* bit 5: RAID5, bit 6: RAID6 */
} layouts[] = {
    {"left-asymmetric", MD_LEFT_ASYMMETRIC, 1 << 5 | 1 << 6},
    {"right-asymmetric", MD_RIGHT_ASYMMETRIC, 1 << 5 | 1 << 6},
    {"left-symmetric", MD_LEFT_SYMMETRIC, 1 << 5 | 1 << 6},
    {"right-symmetric", MD_RIGHT_SYMMETRIC, 1 << 5 | 1 << 6},
    {"default", MD_LEFT_SYMMETRIC, 1 << 5 | 1 << 6},
    {"la", MD_LEFT_ASYMMETRIC, 1 << 5 | 1 << 6},
    {"ra", MD_RIGHT_ASYMMETRIC, 1 << 5 | 1 << 6},
    {"ls", MD_LEFT_SYMMETRIC, 1 << 5 | 1 << 6},
    {"rs", MD_RIGHT_SYMMETRIC, 1 << 5 | 1 << 6},
    {"parity-first", MD_PARITY_0, 1 << 5 | 1 << 6},
    {"parity-last", MD_PARITY_N, 1 << 5 | 1 << 6},
    {"ddf-zero-restart", MD_RIGHT_ASYMMETRIC, 1 << 5},
    {"ddf-N-restart", MD_LEFT_ASYMMETRIC, 1 << 5},
    {"ddf-N-continue", MD_LEFT_SYMMETRIC, 1 << 5},
    {"ddf-zero-restart", 8, 1 << 6},
    {"ddf-N-restart", 9, 1 << 6},
    {"ddf-N-continue", 10, 1 << 6},
    {"left-asymmetric-6", MD_LEFT_ASYMMETRIC_6, 1 << 6},
    {"right-asymmetric-6", MD_RIGHT_ASYMMETRIC_6, 1 << 6},
    {"left-symmetric-6", MD_LEFT_SYMMETRIC_6, 1 << 6},
    {"right-symmetric-6", MD_RIGHT_SYMMETRIC_6, 1 << 6},
    {"parity-first-6", MD_PARITY_0_6, 1 << 6},
};

const char *md_layout_name(int level, int layout)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].layout == layout && (layouts[i].levels & (1 << level)))
			return layouts[i].name;
	return NULL;
}

int md_layout_parse(int level, const char *name)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (strcmp(layouts[i].name, name) == 0 && (layouts[i].levels & (1 << level)))
			return layouts[i].layout;
	return -1;
}

void md_geom_from_sb(struct md_geom *g, const struct md_sb *sb, enum md_geom_which which)
{
	g->level = sb->level;
	g->layout = (int)sb->layout;
	g->raid_disks = (int)sb->raid_disks;
	g->chunk_sectors = sb->chunksize;
	g->dev_sectors = sb->chunksize ? sb->size / sb->chunksize * sb->chunksize : sb->size;
	if (!(sb->feature_map & MD_F_RESHAPE_ACTIVE) || which == MD_GEOM_CUR)
		return;
	if (which == MD_GEOM_OLD) {
		g->raid_disks = (int)sb->raid_disks - sb->delta_disks;
	} else {
		g->level = (int)sb->new_level;
		g->layout = (int)sb->new_layout;
		g->chunk_sectors = sb->new_chunk;
		if (sb->new_chunk)
			g->dev_sectors = sb->size / sb->new_chunk * sb->new_chunk;
	}
}

int md_geom_data_disks(const struct md_geom *g)
{
	return g->raid_disks - (g->level == 6 ? 2 : 1);
}

uint64_t md_geom_array_sectors(const struct md_geom *g)
{
	return g->dev_sectors * (uint64_t)md_geom_data_disks(g);
}

int md_geom_check(const struct md_geom *g, const char *path, struct ok_err *e)
{
	if (g->level != 5 && g->level != 6)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "raid level %d is not supported (only 5 and 6)", g->level);
	int min = g->level == 6 ? 4 : 3;
	if (g->raid_disks < min || g->raid_disks > MD_MAX_MEMBERS)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "raid_disks %d out of range (RAID%d: %d..%d)", g->raid_disks,
				 g->level, min, MD_MAX_MEMBERS);
	bool ok = g->layout <= MD_PARITY_N;
	if (g->level == 6 && g->layout >= MD_LEFT_ASYMMETRIC_6 && g->layout <= MD_PARITY_0_6)
		ok = true;
	if (g->layout < 0 || !ok)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "layout %d is not supported for RAID%d", g->layout, g->level);
	uint32_t c = g->chunk_sectors;
	if (c < 8 || c > 131072 || (c & (c - 1)))
		return ok_err_at(
		    e, -EINVAL, path, OK_ERR_NOPOS,
		    "chunk size %u sectors: expected a power of two from 4 KiB to 64 MiB", c);
	return 0;
}

void md_stripe_layout(const struct md_geom *g, uint64_t stripe, struct md_stripe *st)
{
	int n = g->raid_disks, nd = md_geom_data_disks(g);
	int pd = 0, qd = -1;
	st->stripe = stripe;
	st->nd = nd;
	if (g->level == 5) {
		switch (g->layout) {
		case MD_LEFT_ASYMMETRIC:
			pd = nd - (int)(stripe % (uint64_t)n);
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k >= pd ? k + 1 : k;
			break;
		case MD_RIGHT_ASYMMETRIC:
			pd = (int)(stripe % (uint64_t)n);
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k >= pd ? k + 1 : k;
			break;
		case MD_LEFT_SYMMETRIC:
			pd = nd - (int)(stripe % (uint64_t)n);
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = (pd + 1 + k) % n;
			break;
		case MD_RIGHT_SYMMETRIC:
			pd = (int)(stripe % (uint64_t)n);
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = (pd + 1 + k) % n;
			break;
		case MD_PARITY_0:
			pd = 0;
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k + 1;
			break;
		default: /* MD_PARITY_N */
			pd = nd;
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k;
			break;
		}
		st->pd = pd;
		st->qd = -1;
		for (int k = 0; k < nd; k++)
			st->qslot[k] = k;
		return;
	}
	switch (g->layout) {
	case MD_LEFT_ASYMMETRIC:
	case MD_RIGHT_ASYMMETRIC:
		pd = g->layout == MD_LEFT_ASYMMETRIC ? n - 1 - (int)(stripe % (uint64_t)n)
						     : (int)(stripe % (uint64_t)n);
		qd = pd + 1;
		if (pd == n - 1) {
			qd = 0;
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k + 1;
		} else {
			for (int k = 0; k < nd; k++)
				st->data_dev[k] = k >= pd ? k + 2 : k;
		}
		break;
	case MD_LEFT_SYMMETRIC:
	case MD_RIGHT_SYMMETRIC:
		pd = g->layout == MD_LEFT_SYMMETRIC ? n - 1 - (int)(stripe % (uint64_t)n)
						    : (int)(stripe % (uint64_t)n);
		qd = (pd + 1) % n;
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = (pd + 2 + k) % n;
		break;
	case MD_PARITY_0:
		pd = 0;
		qd = 1;
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = k + 2;
		break;
	case MD_PARITY_N:
		pd = nd;
		qd = nd + 1;
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = k;
		break;
	case MD_LEFT_ASYMMETRIC_6:
	case MD_RIGHT_ASYMMETRIC_6:
		pd = g->layout == MD_LEFT_ASYMMETRIC_6 ? nd - (int)(stripe % (uint64_t)(n - 1))
						       : (int)(stripe % (uint64_t)(n - 1));
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = k >= pd ? k + 1 : k;
		qd = n - 1;
		break;
	case MD_LEFT_SYMMETRIC_6:
	case MD_RIGHT_SYMMETRIC_6:
		pd = g->layout == MD_LEFT_SYMMETRIC_6 ? nd - (int)(stripe % (uint64_t)(n - 1))
						      : (int)(stripe % (uint64_t)(n - 1));
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = (pd + 1 + k) % (n - 1);
		qd = n - 1;
		break;
	default: /* MD_PARITY_0_6 */
		pd = 0;
		for (int k = 0; k < nd; k++)
			st->data_dev[k] = k + 1;
		qd = n - 1;
		break;
	}
	st->pd = pd;
	st->qd = qd;
	/* Q slots: walk the members from raid6_d0 (Q+1, or 0 if Q is last),
	 * skipping P and Q; the j-th data member met is slot j. */
	int slot_of_dev[MD_MAX_MEMBERS];
	int d0 = qd == n - 1 ? 0 : qd + 1, count = 0;
	for (int i = 0, d = d0; i < n; i++, d = (d + 1) % n)
		if (d != pd && d != qd)
			slot_of_dev[d] = count++;
	for (int k = 0; k < nd; k++)
		st->qslot[k] = slot_of_dev[st->data_dev[k]];
}

void stripe_map(const struct md_geom *g, uint64_t array_sector, struct md_map *m)
{
	uint64_t cs = g->chunk_sectors, nd = (uint64_t)md_geom_data_disks(g);
	uint64_t chunk = array_sector / cs;
	struct md_stripe st;
	m->chunk_off = (uint32_t)(array_sector % cs);
	m->stripe = chunk / nd;
	m->k = (int)(chunk % nd);
	md_stripe_layout(g, m->stripe, &st);
	m->dev = st.data_dev[m->k];
	m->rel_sector = m->stripe * cs + m->chunk_off;
}
