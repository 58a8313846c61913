# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((512, 512), "float32"), B: T.Buffer((512, 512), "float32"), C: T.Buffer((512, 512), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        C_global = T.sblock_alloc_buffer((512, 512))
        for i_0_j_0_fused in T.parallel(16, annotations={"pragma_auto_unroll_max_step": 512, "pragma_unroll_explicit": 1}):
            for i_1, j_1 in T.grid(32, 2):
                for i_2_init, j_2_init, i_3_init in T.grid(1, 1, 4):
                    for j_3_fused_init in T.vectorized(64):
                        with T.sblock("C_init"):
                            v_i = T.axis.spatial(512, i_0_j_0_fused // 4 * 128 + i_1 * 4 + i_2_init * 4 + i_3_init)
                            v_j = T.axis.spatial(512, i_0_j_0_fused % 4 * 128 + j_1 * 64 + j_2_init * 64 + j_3_fused_init)
                            T.reads()
                            T.writes(C_global[v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            C_global[v_i, v_j] = T.float32(0.0)
                for k_0, i_2, j_2, k_1, i_3 in T.grid(128, 1, 1, 4, 4):
                    for j_3_fused in T.vectorized(64):
                        with T.sblock("C_update"):
                            v_i = T.axis.spatial(512, i_0_j_0_fused // 4 * 128 + i_1 * 4 + i_2 * 4 + i_3)
                            v_j = T.axis.spatial(512, i_0_j_0_fused % 4 * 128 + j_1 * 64 + j_2 * 64 + j_3_fused)
                            v_k = T.axis.reduce(512, k_0 * 4 + k_1)
                            T.reads(C_global[v_i, v_j], A[v_i, v_k], B[v_k, v_j])
                            T.writes(C_global[v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            C_global[v_i, v_j] = C_global[v_i, v_j] + A[v_i, v_k] * B[v_k, v_j]
                for ax0 in range(4):
                    for ax1_fused in T.vectorized(64):
                        with T.sblock("C_global"):
                            v0 = T.axis.spatial(512, i_0_j_0_fused // 4 * 128 + i_1 * 4 + ax0)
                            v1 = T.axis.spatial(512, i_0_j_0_fused % 4 * 128 + j_1 * 64 + ax1_fused)
                            T.reads(C_global[v0, v1])
                            T.writes(C[v0, v1])
                            C[v0, v1] = C_global[v0, v1]