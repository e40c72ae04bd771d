#!/usr/bin/env python3
"""refmodel.py: a small, separately written reference model of mmusim.

It knows nothing of mmusim's code: page tables are dictionaries keyed by
(process, level, VA prefix), caches are plain LRU lists, there is no
optimisation. It follows the semantics documented in mmusim/mmusim.h and the
man page, for the subset the differential test (test_diff.sh) exercises:
lackey accesses plus 'E switch', 'E ptwrite', 'E invlpg', 'E fault' and
'E unmap' events (not create/exit: freed frames are reused at the same
physical addresses, which a model keyed by identity cannot follow; for the
same reason traces with ptwrite/unmap run with the nested TLB off); native, shadow and nested modes;
L1 D/I and L2 TLBs (any geometry), PCID/ASID tag pools with generation wrap,
the PA-tagged page-walk cache (fully associative), Intel-style VA-prefix
paging-structure caches (native and shadow only: nested ones key on gPAs), the nested TLB (fully
associative), guest 4K/2M pages, host 4K pages, 4/5 levels, shadow
write-protection, unsync, shadow-root cache, untagged flush on every exit.
Data caches must be off (their sets depend on physical addresses).
Not covered here, checked by hand-derived unit tests instead: fork/exec
(copy-on-write), 'E flush', accessed-bit writes (ad_writes, c_ad: they change
no count compared here), several VMs.

  refmodel.py gen SEED N [events]   print a random lackey trace with switches
                                    (and ptwrite/invlpg/fault/unmap events)
  refmodel.py sim TRACE KEY=VAL...  print the counts as JSON
"""
import json
import random
import sys

BASE = 0x555500000000


def gen(seed, n, events=False):
    rnd = random.Random(seed)
    out = ["==1== Lackey, an example Valgrind tool"]
    code = 0x400000
    wide = [BASE + rnd.randrange(0, 1 << 36) // 4096 * 4096 for _ in range(400)]
    pid = 1
    for _ in range(n):
        r = rnd.random()
        if r < 0.003:
            pid = rnd.randint(1, 4)
            out.append("E switch %d" % pid)
            continue
        if events and r < 0.015:
            page = BASE + 0x20000000 + rnd.randrange(0, 300) * 4096
            ev = rnd.choice(["ptwrite", "ptwrite", "invlpg", "invlpg", "fault", "unmap"])
            if ev == "unmap":
                out.append("E unmap %x %d" % (page, 4096 * rnd.randint(1, 40)))
            else:
                out.append("E %s %x" % (ev, page + rnd.randrange(0, 4096)))
            continue
        if r < 0.25:
            code += rnd.choice([1, 2, 3, 5, 7, 4096 * rnd.randint(-3, 3)])
            code = max(code, 0x400000)
            out.append("I  %08X,%d" % (code, rnd.choice([1, 2, 3, 4, 5, 7, 15])))
            continue
        kind = rnd.random()
        if kind < 0.5:
            a = BASE + 0x10000000 + rnd.randrange(0, 8 * 4096)
        elif kind < 0.8:
            a = BASE + 0x20000000 + rnd.randrange(0, 300 * 4096)
        elif kind < 0.95:
            a = rnd.choice(wide) + rnd.randrange(0, 4096)
        else:
            a = BASE + 0x30000000 + rnd.randrange(0, 8192)  # often crosses a page
        size = rnd.choice([1, 2, 4, 8, 8, 16])
        op = rnd.choice([" L", " L", " S", " M"])
        out.append("%s %x,%d" % (op, a, size))
    out.append("==1== ")
    print("\n".join(out))


class LRU:
    """Set-associative LRU: one list per set, least recent first."""

    def __init__(self, entries, ways):
        self.on = entries > 0
        if not self.on:
            return
        if ways == 0 or ways > entries:
            ways = entries
        self.ways = ways
        self.sets = [[] for _ in range(entries // ways)]

    def get(self, key, hint=0):
        if not self.on:
            return False
        s = self.sets[hint % len(self.sets)]
        if key in s:
            s.remove(key)
            s.append(key)
            return True
        return False

    def put(self, key, hint=0):
        """Insert; returns the evicted key or None."""
        if not self.on:
            return None
        s = self.sets[hint % len(self.sets)]
        ev = None
        if key in s:
            s.remove(key)
        elif len(s) == self.ways:
            ev = s.pop(0)
        s.append(key)
        return ev

    def flush(self):
        if self.on:
            for s in self.sets:
                s.clear()


BARCELONA = dict(levels=4, host_levels=4, guest_page="4K", host_page="4K",
                 l1d_entries=48, l1d_ways=0, l1i_entries=32, l1i_ways=0,
                 l2_entries=512, l2_ways=4, l2_2m_entries=128, l2_2m_ways=2,
                 l2_1g_entries=0, l2_1g_ways=0, pwc="pa", pwc_entries=24, pwc_ways=0,
                 ntlb_entries=16, ntlb_ways=0, asids=64, pcids=0, shadow_as_tags=1,
                 shadow_roots=64, unsync=1, flush_ceiling=33)
SIZES = {"4K": 4096, "2M": 2 << 20, "1G": 1 << 30}
EXITS = ["pt_write", "hidden_fault", "guest_pf", "cr3", "invlpg"]
FLUSHES = ["cr3", "vmexit", "tag_wrap", "full", "pt_write"]


def sh(level):
    """Bits below the index of a level-`level` table."""
    return 12 + 9 * (level - 1)


class Mode:
    def __init__(self, name, cfg):
        self.name = name
        c = cfg
        gsize = SIZES[c["guest_page"]]
        hsize = SIZES[c["host_page"]]
        tsize = gsize if name == "native" else min(gsize, hsize)
        self.tshift = tsize.bit_length() - 1
        l2e, l2w = {4096: ("l2_entries", "l2_ways"), 2 << 20: ("l2_2m_entries", "l2_2m_ways"),
                    1 << 30: ("l2_1g_entries", "l2_1g_ways")}[tsize]
        self.l1d = LRU(c["l1d_entries"], c["l1d_ways"])
        self.l1i = LRU(c["l1i_entries"], c["l1i_ways"])
        self.l2 = LRU(c[l2e], c[l2w])
        self.pwc = LRU(c["pwc_entries"] if c["pwc"] == "pa" else 0, c["pwc_ways"])
        # Intel paging-structure caches: psc[L] maps (tag, va >> sh(L)) to the level L-1 table
        self.psc = {lv: LRU(c["pwc_entries"] if c["pwc"] == "va" else 0, c["pwc_ways"])
                    for lv in range(2, 6)}
        self.ntlb = LRU(c["ntlb_entries"] if name == "nested" else 0, c["ntlb_ways"])
        if name == "shadow":
            self.ntags = c["asids"] if c["shadow_as_tags"] else 0
        else:
            self.ntags = c["pcids"]
        self.tag = 0
        self.gen = 1
        self.tag_next = 1
        self.proc_tag = {}  # pid -> (tag, gen)
        self.sroots = LRU(c["shadow_roots"], 0)
        self.shadow = {}  # pid -> set of shadow leaf VPNs (at tshift)
        self.unsync = set()
        self.pend = []  # (pid, va) whose guest PTE changed while its table was unsync
        self.acc = set()  # (pid, guest page) whose PTE this VMM marked accessed (hidden fault)
        self.k = dict(accesses=0, l1_hits=0, l1_misses=0, l2_hits=0, l2_misses=0, walks=0,
                      guest_refs=0, nested_refs=0, pwc_hits=0, ntlb_hits=0, ntlb_lookups=0,
                      guest_faults=0, pt_writes=0, shadow_syncs=0, psc_skipped=0)
        for e in EXITS:
            self.k["exits_" + e] = 0
        for f in FLUSHES:
            self.k["flushes_" + f] = 0

    def flush(self, why, ntlb_too=False):
        self.k["flushes_" + why] += 1
        self.l1d.flush()
        self.l1i.flush()
        self.l2.flush()
        self.pwc.flush()
        for p in self.psc.values():
            p.flush()
        if ntlb_too:
            self.ntlb.flush()

    def set_tag(self, pid, boot):
        if self.ntags <= 1:
            if not boot:
                self.flush("cr3")
            self.tag = 0
            return
        t = self.proc_tag.get(pid)
        if t is None or t[1] != self.gen:
            if self.tag_next >= self.ntags:
                self.flush("tag_wrap")
                self.gen += 1
                self.tag_next = 1
            t = (self.tag_next, self.gen)
            self.tag_next += 1
            self.proc_tag[pid] = t
        self.tag = t[0]


class Ref:
    def __init__(self, cfg, modes):
        self.c = cfg
        self.n = cfg["levels"]
        self.m = cfg["host_levels"]
        self.gsize = SIZES[cfg["guest_page"]]
        self.gleaf = {4096: 1, 2 << 20: 2, 1 << 30: 3}[self.gsize]
        self.tables = {}  # (pid, level, va >> sh(level+1)) -> {"wp":, "unsync":}
        self.mapped = set()  # (pid, va >> gshift)
        self.cur = None
        self.booted = False
        self.modes = [Mode(x, cfg) for x in modes]

    def table(self, pid, level, va):
        return (pid, level, va >> sh(level + 1) if level < self.n else 0)

    def vm_exit(self, md, why):
        md.k["exits_" + why] += 1
        if self.c["asids"] == 0:
            md.flush("vmexit", True)

    def switch(self, pid):
        if pid == self.cur:
            return
        if pid not in {t[0] for t in self.tables if t[1] == self.n}:
            self.tables[(pid, self.n, 0)] = {"wp": False, "unsync": False}
        for md in self.modes:
            if md.name == "shadow":
                if not md.sroots.get(pid):
                    md.shadow[pid] = set()
                    ev = md.sroots.put(pid)
                    if ev is not None:
                        md.shadow.pop(ev, None)
                        md.proc_tag.pop(ev, None)
                self.sync(md)
                if self.booted:
                    self.vm_exit(md, "cr3")
                if self.c["asids"] and self.c["shadow_as_tags"]:
                    md.set_tag(pid, not self.booted)
                elif self.c["asids"] and self.booted:
                    md.flush("cr3")
                continue
            md.set_tag(pid, not self.booted)
        self.cur = pid
        self.booted = True

    def sync(self, md):
        """Resync all unsync tables (KVM's FNAME(sync_page)): the shadow of a
        PTE changed meanwhile is dropped unless the PTE is accessed again (a
        hidden fault refilled it since: then it maps what the PTE says)."""
        done = list(md.unsync)
        for x in done:
            self.tables[x]["unsync"] = False
            md.unsync.discard(x)
        md.k["shadow_syncs"] += len(done)
        gsh = self.gsize.bit_length() - 1
        for pid, va in md.pend:
            if md.sroots.get(pid) and (pid, va >> gsh) not in md.acc:
                md.shadow[pid].discard(va >> md.tshift)
        md.pend = []
        return len(done)

    def writes(self, writes, guest_pf, va, was_present):
        for md in self.modes:
            if guest_pf:
                md.k["guest_faults"] += 1
            md.k["pt_writes"] += len(writes)
            if md.name != "shadow":
                continue
            # the leaf PTE is new or rewritten: not accessed
            md.acc.discard((self.cur, va >> (self.gsize.bit_length() - 1)))
            if guest_pf:
                self.vm_exit(md, "guest_pf")
            for t in writes:
                tb = self.tables[t]
                if not tb["wp"]:
                    continue
                if self.c["unsync"] and t[1] == self.gleaf:
                    if not tb["unsync"]:
                        self.vm_exit(md, "pt_write")
                        tb["unsync"] = True
                        md.unsync.add(t)
                    if was_present:
                        md.pend.append((self.cur, va))
                    continue
                self.vm_exit(md, "pt_write")
                if was_present and t[1] == self.gleaf and va >> md.tshift in md.shadow[self.cur]:
                    # a present shadow entry zapped: KVM's kvm_mmu_pte_write
                    # flushes the VM's TLBs (kvm_flush_remote_tlbs)
                    md.shadow[self.cur].discard(va >> md.tshift)
                    md.flush("pt_write")

    def fault(self, va, guest_pf=True):
        pid = self.cur
        writes = []
        for lv in range(self.n, self.gleaf, -1):
            child = self.table(pid, lv - 1, va)
            if child not in self.tables:
                self.tables[child] = {"wp": False, "unsync": False}
                writes.append(self.table(pid, lv, va))
        writes.append(self.table(pid, self.gleaf, va))
        self.mapped.add((pid, va >> (self.gsize.bit_length() - 1)))
        self.writes(writes, guest_pf, va, False)

    def is_mapped(self, va):
        return (self.cur, va >> (self.gsize.bit_length() - 1)) in self.mapped

    def ptwrite(self, va, clear=False):
        if not self.is_mapped(va):
            if not clear:
                self.fault(va, False)
            return
        if clear:
            self.mapped.discard((self.cur, va >> (self.gsize.bit_length() - 1)))
        self.writes([self.table(self.cur, self.gleaf, va)], False, va, True)

    def invlpg(self, va):
        for md in self.modes:
            if md.name == "shadow":
                # KVM's FNAME(invlpg): in an unsync table only va's shadow is
                # dropped and refilled if its PTE is accessed, the table stays
                # unsync; in a synced one every write trapped: nothing to do
                leaf = self.table(self.cur, self.gleaf, va)
                self.vm_exit(md, "invlpg")
                if leaf in self.tables and self.tables[leaf]["unsync"]:
                    gsh = self.gsize.bit_length() - 1
                    md.pend = [(p, a) for p, a in md.pend
                               if p != self.cur or a >> gsh != va >> gsh]
                    if (self.cur, va >> gsh) not in md.acc:
                        md.shadow[self.cur].discard(va >> md.tshift)
            # SDM 4.10.4.1: all PSC entries of the current PCID go
            for lv in range(2, self.n + 1):
                p = md.psc[lv]
                if p.on:
                    for st in p.sets:
                        st[:] = [k for k in st if k[0] != md.tag]
            vpn = va >> md.tshift
            for tlb in (md.l1d, md.l1i, md.l2):
                if tlb.on:
                    s = tlb.sets[vpn % len(tlb.sets)]
                    if (md.tag, vpn) in s:
                        s.remove((md.tag, vpn))

    def unmap(self, va, length):
        gsh = self.gsize.bit_length() - 1
        pages = sorted(p for (pid, p) in self.mapped
                       if pid == self.cur and (p + 1) << gsh > va and p << gsh < va + length)
        # Linux: every PTE first, then flush_tlb_mm_range over the span
        # cleared: past tlb_single_page_flush_ceiling pages, one full flush
        for p in pages:
            self.ptwrite(p << gsh, True)
        if not pages:
            return
        if pages[-1] - pages[0] + 1 > self.c["flush_ceiling"]:
            self.full_flush()
        else:
            for p in range(pages[0], pages[-1] + 1):
                self.invlpg(p << gsh)

    def full_flush(self):
        for md in self.modes:
            if md.name == "shadow":
                self.sync(md)
                self.vm_exit(md, "cr3")
            md.k["flushes_full"] += 1
            for lru in [md.l1d, md.l1i, md.l2] + list(md.psc.values()):
                if lru.on:
                    for st in lru.sets:
                        st[:] = [k for k in st if k[0] != md.tag]
            md.pwc.flush()

    def ref(self, md, ident, pwc_ok, nested=False):
        md.k["nested_refs" if nested else "guest_refs"] += 1
        if pwc_ok and md.pwc.on:
            if md.pwc.get(ident):
                md.k["pwc_hits"] += 1
                return
            md.pwc.put(ident)

    def nested_xlate(self, md, gpa_page):
        if md.ntlb.on:
            md.k["ntlb_lookups"] += 1
            if md.ntlb.get(gpa_page):
                md.k["ntlb_hits"] += 1
                return
        for _ in range(self.m):
            self.ref(md, None, False, True)
        md.ntlb.put(gpa_page)

    def walk1(self, md, va, leaf, dim):
        """A one-dimensional walk (native or shadow table), skipping via the PSC."""
        n = self.n
        start = n
        for lv in range(leaf + 1, n + 1):
            if md.psc[lv].get((md.tag, va >> sh(lv))):
                start = lv - 1
                md.k["psc_skipped"] += n - lv + 1
                break
        for lv in range(start, leaf - 1, -1):
            self.ref(md, (dim, self.cur, lv, va >> sh(lv)), lv > leaf)
            if lv > leaf:
                md.psc[lv].put((md.tag, va >> sh(lv)))

    def walk(self, md, va):
        pid = self.cur
        md.k["walks"] += 1
        n = self.n
        if md.name == "native":
            self.walk1(md, va, self.gleaf, "g")
        elif md.name == "shadow":
            svpn = va >> md.tshift
            if svpn not in md.shadow[pid]:
                self.vm_exit(md, "hidden_fault")
                for lv in range(n, self.gleaf - 1, -1):
                    self.tables[self.table(pid, lv, va)]["wp"] = True
                md.shadow[pid].add(svpn)
                md.acc.add((pid, va >> (self.gsize.bit_length() - 1)))
            self.walk1(md, va, {12: 1, 21: 2, 30: 3}[md.tshift], "s")
        else:
            for lv in range(n, self.gleaf - 1, -1):
                self.nested_xlate(md, ("t",) + self.table(pid, lv, va))
                self.ref(md, ("g", pid, lv, va >> sh(lv)), lv > self.gleaf)
            gsh = self.gsize.bit_length() - 1
            self.nested_xlate(md, ("d", pid, va >> gsh, (va >> 12) & ((self.gsize >> 12) - 1)))

    def translate(self, md, va, ifetch):
        md.k["accesses"] += 1
        vpn = va >> md.tshift
        l1 = md.l1i if ifetch else md.l1d
        if l1.get((md.tag, vpn), vpn):
            md.k["l1_hits"] += 1
            return
        md.k["l1_misses"] += 1
        if md.l2.get((md.tag, vpn), vpn):
            md.k["l2_hits"] += 1
        else:
            md.k["l2_misses"] += 1
            self.walk(md, va)
            md.l2.put((md.tag, vpn), vpn)
        l1.put((md.tag, vpn), vpn)

    def access(self, va, ifetch):
        if self.cur is None:
            self.switch(0)
        if not self.is_mapped(va):
            self.fault(va)
        for md in self.modes:
            self.translate(md, va, ifetch)


def sim(path, sets):
    cfg = dict(BARCELONA)
    for kv in sets:
        k, v = kv.split("=", 1)
        cfg[k] = v if k in ("pwc", "guest_page", "host_page", "modes") else int(v)
    modes = cfg.pop("modes", "native,shadow,nested").split(",")
    assert cfg["host_page"] == "4K" and (cfg["pwc"] in ("pa", "none") or "nested" not in modes)
    r = Ref(cfg, modes)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("==") or not line.strip():
                continue
            if line.startswith("E "):
                f = line.split()
                if f[1] == "switch":
                    r.switch(int(f[2]))
                    continue
                if r.cur is None:
                    r.switch(0)
                a = int(f[2], 16)
                if f[1] == "ptwrite":
                    r.ptwrite(a)
                elif f[1] == "invlpg":
                    r.invlpg(a)
                elif f[1] == "fault":
                    if not r.is_mapped(a):
                        r.fault(a)
                elif f[1] == "unmap":
                    r.unmap(a, int(f[3]))
                continue
            op = line.split()[0]
            a, size = line.split()[1].split(",")
            a, size = int(a, 16), int(size)
            r.access(a, op == "I")
            last = a + size - 1
            if (last ^ a) >> 12:
                r.access(last, op == "I")
    print(json.dumps({md.name: md.k for md in r.modes}, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), len(sys.argv) > 4)
    else:
        sim(sys.argv[2], sys.argv[3:])
