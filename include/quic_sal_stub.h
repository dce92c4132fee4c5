/*
 * quic_sal_stub.h - empty definitions of Microsoft's source annotation
 * language (SAL) for POSIX compilers.
 *
 * Programs written for MsQuic often annotate their callbacks and helpers the
 * way MsQuic's own samples do (_In_, _Inout_, _IRQL_requires_max_(...),
 * _Function_class_(...), ...). MsQuic's POSIX header makes those names
 * available; this file does the same so such programs compile unchanged.
 * Every annotation expands to nothing. A definition that already exists
 * (from another SAL stub) is kept.
 */

#ifndef SWIFTQUIC_QUIC_SAL_STUB_H
#define SWIFTQUIC_QUIC_SAL_STUB_H

/* ---- parameters: direction and optionality ------------------------------ */
#ifndef _In_
#define _In_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _In_z_
#define _In_z_
#endif
#ifndef _In_opt_z_
#define _In_opt_z_
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Out_opt_
#define _Out_opt_
#endif
#ifndef _Inout_
#define _Inout_
#endif
#ifndef _Inout_opt_
#define _Inout_opt_
#endif
#ifndef _Inout_z_
#define _Inout_z_
#endif
#ifndef _Inout_opt_z_
#define _Inout_opt_z_
#endif
#ifndef _Outptr_
#define _Outptr_
#endif
#ifndef _Outptr_opt_
#define _Outptr_opt_
#endif
#ifndef _Outptr_result_maybenull_
#define _Outptr_result_maybenull_
#endif
#ifndef _Outptr_opt_result_maybenull_
#define _Outptr_opt_result_maybenull_
#endif
#ifndef _Outptr_result_nullonfailure_
#define _Outptr_result_nullonfailure_
#endif
#ifndef _Outref_
#define _Outref_
#endif
#ifndef _Reserved_
#define _Reserved_
#endif

/* ---- parameters: buffer sizes ------------------------------------------- */
#ifndef _In_reads_
#define _In_reads_(Size)
#endif
#ifndef _In_reads_opt_
#define _In_reads_opt_(Size)
#endif
#ifndef _In_reads_z_
#define _In_reads_z_(Size)
#endif
#ifndef _In_reads_or_z_
#define _In_reads_or_z_(Size)
#endif
#ifndef _In_reads_or_z_opt_
#define _In_reads_or_z_opt_(Size)
#endif
#ifndef _In_reads_bytes_
#define _In_reads_bytes_(Size)
#endif
#ifndef _In_reads_bytes_opt_
#define _In_reads_bytes_opt_(Size)
#endif
#ifndef _Out_writes_
#define _Out_writes_(Size)
#endif
#ifndef _Out_writes_opt_
#define _Out_writes_opt_(Size)
#endif
#ifndef _Out_writes_z_
#define _Out_writes_z_(Size)
#endif
#ifndef _Out_writes_all_
#define _Out_writes_all_(Size)
#endif
#ifndef _Out_writes_to_
#define _Out_writes_to_(Size, Count)
#endif
#ifndef _Out_writes_to_opt_
#define _Out_writes_to_opt_(Size, Count)
#endif
#ifndef _Out_writes_bytes_
#define _Out_writes_bytes_(Size)
#endif
#ifndef _Out_writes_bytes_opt_
#define _Out_writes_bytes_opt_(Size)
#endif
#ifndef _Out_writes_bytes_all_
#define _Out_writes_bytes_all_(Size)
#endif
#ifndef _Out_writes_bytes_to_
#define _Out_writes_bytes_to_(Size, Count)
#endif
#ifndef _Out_writes_bytes_to_opt_
#define _Out_writes_bytes_to_opt_(Size, Count)
#endif
#ifndef _Inout_updates_
#define _Inout_updates_(Size)
#endif
#ifndef _Inout_updates_opt_
#define _Inout_updates_opt_(Size)
#endif
#ifndef _Inout_updates_bytes_
#define _Inout_updates_bytes_(Size)
#endif
#ifndef _Inout_updates_bytes_opt_
#define _Inout_updates_bytes_opt_(Size)
#endif
#ifndef _Outptr_result_buffer_
#define _Outptr_result_buffer_(Size)
#endif
#ifndef _Outptr_result_buffer_maybenull_
#define _Outptr_result_buffer_maybenull_(Size)
#endif
#ifndef _Readable_bytes_
#define _Readable_bytes_(Size)
#endif
#ifndef _Readable_elements_
#define _Readable_elements_(Size)
#endif
#ifndef _Writable_bytes_
#define _Writable_bytes_(Size)
#endif
#ifndef _Writable_elements_
#define _Writable_elements_(Size)
#endif

/* ---- structure fields --------------------------------------------------- */
#ifndef _Field_size_
#define _Field_size_(Size)
#endif
#ifndef _Field_size_opt_
#define _Field_size_opt_(Size)
#endif
#ifndef _Field_size_bytes_
#define _Field_size_bytes_(Size)
#endif
#ifndef _Field_size_bytes_opt_
#define _Field_size_bytes_opt_(Size)
#endif
#ifndef _Field_size_part_
#define _Field_size_part_(Size, Count)
#endif
#ifndef _Field_size_bytes_part_
#define _Field_size_bytes_part_(Size, Count)
#endif
#ifndef _Field_size_full_
#define _Field_size_full_(Size)
#endif
#ifndef _Field_range_
#define _Field_range_(Min, Max)
#endif
#ifndef _Field_z_
#define _Field_z_
#endif
#ifndef _Struct_size_bytes_
#define _Struct_size_bytes_(Size)
#endif

/* ---- values, ranges and results ----------------------------------------- */
#ifndef _In_range_
#define _In_range_(Min, Max)
#endif
#ifndef _Out_range_
#define _Out_range_(Min, Max)
#endif
#ifndef _Ret_range_
#define _Ret_range_(Min, Max)
#endif
#ifndef _Deref_in_range_
#define _Deref_in_range_(Min, Max)
#endif
#ifndef _Deref_out_range_
#define _Deref_out_range_(Min, Max)
#endif
#ifndef _Check_return_
#define _Check_return_
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Success_
#define _Success_(Expr)
#endif
#ifndef _Ret_maybenull_
#define _Ret_maybenull_
#endif
#ifndef _Ret_notnull_
#define _Ret_notnull_
#endif
#ifndef _Ret_z_
#define _Ret_z_
#endif
#ifndef _Null_terminated_
#define _Null_terminated_
#endif
#ifndef _NullNull_terminated_
#define _NullNull_terminated_
#endif
#ifndef _Printf_format_string_
#define _Printf_format_string_
#endif

/* ---- pre/post conditions ------------------------------------------------ */
#ifndef _Pre_defensive_
#define _Pre_defensive_
#endif
#ifndef _Pre_notnull_
#define _Pre_notnull_
#endif
#ifndef _Pre_maybenull_
#define _Pre_maybenull_
#endif
#ifndef _Pre_valid_
#define _Pre_valid_
#endif
#ifndef _Pre_satisfies_
#define _Pre_satisfies_(Cond)
#endif
#ifndef _Post_invalid_
#define _Post_invalid_
#endif
#ifndef _Post_ptr_invalid_
#define _Post_ptr_invalid_
#endif
#ifndef _Post_maybenull_
#define _Post_maybenull_
#endif
#ifndef _Post_notnull_
#define _Post_notnull_
#endif
#ifndef _Post_valid_
#define _Post_valid_
#endif
#ifndef _Post_z_
#define _Post_z_
#endif
#ifndef _Post_satisfies_
#define _Post_satisfies_(Cond)
#endif
#ifndef _Post_equal_to_
#define _Post_equal_to_(Expr)
#endif
#ifndef _Post_writable_byte_size_
#define _Post_writable_byte_size_(Size)
#endif
#ifndef _Post_readable_byte_size_
#define _Post_readable_byte_size_(Size)
#endif
#ifndef _Deref_pre_opt_valid_
#define _Deref_pre_opt_valid_
#endif
#ifndef _Deref_post_opt_valid_
#define _Deref_post_opt_valid_
#endif
#ifndef _When_
#define _When_(Cond, Annotations)
#endif
#ifndef _At_
#define _At_(Target, Annotations)
#endif
#ifndef _At_buffer_
#define _At_buffer_(Target, Iter, Count, Annotations)
#endif
#ifndef _Use_decl_annotations_
#define _Use_decl_annotations_
#endif
#ifndef _Frees_ptr_
#define _Frees_ptr_
#endif
#ifndef _Frees_ptr_opt_
#define _Frees_ptr_opt_
#endif
#ifndef _Analysis_assume_
#define _Analysis_assume_(Expr)
#endif
#ifndef _Analysis_noreturn_
#define _Analysis_noreturn_
#endif
#ifndef _Strict_type_match_
#define _Strict_type_match_
#endif
#ifndef _Enum_is_bitflag_
#define _Enum_is_bitflag_
#endif

/* ---- kernel: IRQL, function classes, memory ------------------------------ */
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(Irql)
#endif
#ifndef _IRQL_requires_min_
#define _IRQL_requires_min_(Irql)
#endif
#ifndef _IRQL_requires_
#define _IRQL_requires_(Irql)
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _IRQL_raises_
#define _IRQL_raises_(Irql)
#endif
#ifndef _IRQL_saves_global_
#define _IRQL_saves_global_(Kind, Param)
#endif
#ifndef _IRQL_restores_global_
#define _IRQL_restores_global_(Kind, Param)
#endif
#ifndef _Function_class_
#define _Function_class_(Name)
#endif
#ifndef __drv_allocatesMem
#define __drv_allocatesMem(Kind)
#endif
#ifndef __drv_freesMem
#define __drv_freesMem(Kind)
#endif
#ifndef __drv_aliasesMem
#define __drv_aliasesMem
#endif

/* ---- locks and concurrency ---------------------------------------------- */
#ifndef _Requires_lock_held_
#define _Requires_lock_held_(Lock)
#endif
#ifndef _Requires_lock_not_held_
#define _Requires_lock_not_held_(Lock)
#endif
#ifndef _Acquires_lock_
#define _Acquires_lock_(Lock)
#endif
#ifndef _Releases_lock_
#define _Releases_lock_(Lock)
#endif
#ifndef _Acquires_exclusive_lock_
#define _Acquires_exclusive_lock_(Lock)
#endif
#ifndef _Releases_exclusive_lock_
#define _Releases_exclusive_lock_(Lock)
#endif
#ifndef _Acquires_shared_lock_
#define _Acquires_shared_lock_(Lock)
#endif
#ifndef _Releases_shared_lock_
#define _Releases_shared_lock_(Lock)
#endif
#ifndef _Guarded_by_
#define _Guarded_by_(Lock)
#endif
#ifndef _Interlocked_
#define _Interlocked_
#endif
#ifndef _Interlocked_operand_
#define _Interlocked_operand_
#endif
#ifndef _Benign_race_begin_
#define _Benign_race_begin_
#endif
#ifndef _Benign_race_end_
#define _Benign_race_end_
#endif

#endif /* SWIFTQUIC_QUIC_SAL_STUB_H */
