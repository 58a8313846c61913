# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(A: T.Buffer((512, 512), "float32"), B: T.Buffer((512, 512), "float32"), C: T.Buffer((512, 512), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        for i_0_j_0_fused in T.parallel(64, annotations={"pragma_auto_unroll_max_step": 16, "pragma_unroll_explicit": 1}):
            for i_1, j_1 in T.grid(16, 1):
                for i_2_init, j_2_init, i_3_init, j_3_init in T.grid(1, 64, 4, 1):
                    with T.sblock("C_init"):
                        v_i = T.axis.spatial(512, i_0_j_0_fused // 8 * 64 + i_1 * 4 + i_2_init * 4 + i_3_init)
                        v_j = T.axis.spatial(512, i_0_j_0_fused % 8 * 64 + j_1 * 64 + j_2_init + j_3_init)
                        T.reads()
                        T.writes(C[v_i, v_j])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        C[v_i, v_j] = T.float32(0.0)
                for k_0, i_2, j_2, k_1, i_3, j_3 in T.grid(128, 1, 64, 4, 4, 1):
                    with T.sblock("C_update"):
                        v_i = T.axis.spatial(512, i_0_j_0_fused // 8 * 64 + i_1 * 4 + i_2 * 4 + i_3)
                        v_j = T.axis.spatial(512, i_0_j_0_fused % 8 * 64 + j_1 * 64 + j_2 + j_3)
                        v_k = T.axis.reduce(512, k_0 * 4 + k_1)
                        T.reads(C[v_i, v_j], A[v_i, v_k], B[v_k, v_j])
                        T.writes(C[v_i, v_j])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        C[v_i, v_j] = C[v_i, v_j] + A[v_i, v_k] * B[v_k, v_j]