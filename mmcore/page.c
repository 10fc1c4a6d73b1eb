/* SPDX-License-Identifier: MIT */
/*
 * page.c - mem_map's lists. A page is on at most one list at a time (a free_area list,
 * a pcp list, later an LRU list); the list links are pfns so the structure is position
 * independent. Mirrors the list_head helpers the kernel uses on page->lru.
 */
#include "page.h"

void pfn_list_init(struct pfn_list *l)
{
	l->first = l->last = PFN_NIL;
}

void pfn_list_add(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	p->lru_prev = PFN_NIL;
	p->lru_next = l->first;
	if (l->first != PFN_NIL)
		mm[l->first].lru_prev = pfn;
	else
		l->last = pfn;
	l->first = pfn;
}

void pfn_list_add_tail(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	p->lru_next = PFN_NIL;
	p->lru_prev = l->last;
	if (l->last != PFN_NIL)
		mm[l->last].lru_next = pfn;
	else
		l->first = pfn;
	l->last = pfn;
}

void pfn_list_del(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	if (p->lru_prev != PFN_NIL)
		mm[p->lru_prev].lru_next = p->lru_next;
	else
		l->first = p->lru_next;
	if (p->lru_next != PFN_NIL)
		mm[p->lru_next].lru_prev = p->lru_prev;
	else
		l->last = p->lru_prev;
	p->lru_next = p->lru_prev = PFN_NIL;
}
