/*-------------------------------------------------------------------------
 *
 * simd_setting.h
 *	  The semvec.simd setting (simd_setting.c; needs PostgreSQL)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_SIMD_SETTING_H
#define SEMVEC_SIMD_SETTING_H

/* Register semvec.simd; called from _PG_init before any kernel's init */
extern void SimdInit(void);

#endif							/* SEMVEC_SIMD_SETTING_H */
