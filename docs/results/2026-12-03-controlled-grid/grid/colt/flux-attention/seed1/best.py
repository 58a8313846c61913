# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(Q: T.Buffer((24, 256, 128), "float32"), K: T.Buffer((24, 256, 128), "float32"), V: T.Buffer((24, 256, 128), "float32"), O: T.Buffer((24, 256, 128), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        scores = T.sblock_alloc_buffer((24, 256, 256))
        row_max = T.sblock_alloc_buffer((24, 256))
        exps = T.sblock_alloc_buffer((24, 256, 256))
        row_sum = T.sblock_alloc_buffer((24, 256))
        scores_global = T.sblock_alloc_buffer((24, 256, 256))
        for h_0_i_0_j_0_fused in T.parallel(4, annotations={"pragma_auto_unroll_max_step": 512, "pragma_unroll_explicit": 1}):
            for h_1, i_1, j_1 in T.grid(2, 1, 16):
                for h_2_init, i_2_init, j_2_init, h_3_init, i_3_init in T.grid(3, 256, 4, 1, 1):
                    for j_3_fused_init in T.vectorized(4):
                        with T.sblock("scores_init"):
                            v_h = T.axis.spatial(24, h_0_i_0_j_0_fused * 6 + h_1 * 3 + h_2_init + h_3_init)
                            v_i = T.axis.spatial(256, i_1 * 256 + i_2_init + i_3_init)
                            v_j = T.axis.spatial(256, j_1 * 16 + j_2_init * 4 + j_3_fused_init)
                            T.reads()
                            T.writes(scores_global[v_h, v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            scores_global[v_h, v_i, v_j] = T.float32(0.0)
                for d_0, h_2, i_2, j_2, d_1, h_3, i_3 in T.grid(8, 3, 256, 4, 16, 1, 1):
                    for j_3_fused in T.vectorized(4):
                        with T.sblock("scores_update"):
                            v_h = T.axis.spatial(24, h_0_i_0_j_0_fused * 6 + h_1 * 3 + h_2 + h_3)
                            v_i = T.axis.spatial(256, i_1 * 256 + i_2 + i_3)
                            v_j = T.axis.spatial(256, j_1 * 16 + j_2 * 4 + j_3_fused)
                            v_d = T.axis.reduce(128, d_0 * 16 + d_1)
                            T.reads(scores_global[v_h, v_i, v_j], Q[v_h, v_i, v_d], K[v_h, v_j, v_d])
                            T.writes(scores_global[v_h, v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            scores_global[v_h, v_i, v_j] = scores_global[v_h, v_i, v_j] + Q[v_h, v_i, v_d] * K[v_h, v_j, v_d]
            for ax0, ax1, ax2 in T.grid(6, 256, 256):
                with T.sblock("scores_global"):
                    v0 = T.axis.spatial(24, h_0_i_0_j_0_fused * 6 + ax0)
                    v1, v2 = T.axis.remap("SS", [ax1, ax2])
                    T.reads(scores_global[v0, v1, v2])
                    T.writes(scores[v0, v1, v2])
                    scores[v0, v1, v2] = scores_global[v0, v1, v2]
        for h_0_fused in T.parallel(3, annotations={"pragma_auto_unroll_max_step": 512, "pragma_unroll_explicit": 1}):
            for ax0, ax1, ax2 in T.grid(8, 256, 256):
                for ax0_1, ax1_1 in T.grid(1, 1):
                    with T.sblock("row_max_init"):
                        v_h = T.axis.spatial(24, h_0_fused * 8 + ax0 + ax0_1)
                        v_i = T.axis.spatial(256, ax1 + ax1_1)
                        T.reads()
                        T.writes(row_max[v_h, v_i])
                        row_max[v_h, v_i] = T.float32(-340282346638528859811704183484516925440.0)
                    for ax2_1 in range(256):
                        with T.sblock("row_max_update"):
                            v_h = T.axis.spatial(24, h_0_fused * 8 + ax0 + ax0_1)
                            v_i = T.axis.spatial(256, ax1 + ax1_1)
                            v_j = T.axis.reduce(256, ax2_1)
                            T.reads(row_max[v_h, v_i], scores[v_h, v_i, v_j])
                            T.writes(row_max[v_h, v_i])
                            row_max[v_h, v_i] = T.max(row_max[v_h, v_i], scores[v_h, v_i, v_j])
                with T.sblock("exps"):
                    v_h = T.axis.spatial(24, h_0_fused * 8 + ax0)
                    v_i, v_c = T.axis.remap("SS", [ax1, ax2])
                    T.reads(scores[v_h, v_i, v_c], row_max[v_h, v_i])
                    T.writes(exps[v_h, v_i, v_c])
                    exps[v_h, v_i, v_c] = T.exp((scores[v_h, v_i, v_c] - row_max[v_h, v_i]) * T.float32(0.088388347648318433))
            for ax0, ax1 in T.grid(8, 256):
                with T.sblock("row_sum_init"):
                    v_h = T.axis.spatial(24, h_0_fused * 8 + ax0)
                    v_i = T.axis.spatial(256, ax1)
                    T.reads()
                    T.writes(row_sum[v_h, v_i])
                    row_sum[v_h, v_i] = T.float32(0.0)
                for ax2 in range(256):
                    with T.sblock("row_sum_update"):
                        v_h = T.axis.spatial(24, h_0_fused * 8 + ax0)
                        v_i, v_j2 = T.axis.remap("SR", [ax1, ax2])
                        T.reads(row_sum[v_h, v_i], exps[v_h, v_i, v_j2])
                        T.writes(row_sum[v_h, v_i])
                        row_sum[v_h, v_i] = row_sum[v_h, v_i] + exps[v_h, v_i, v_j2]
            for i_0, c_0, h_1, i_1, c_1 in T.grid(8, 1, 8, 4, 1):
                for h_2_init, i_2_init, c_2_init, h_3_init, i_3_init, c_3_init in T.grid(1, 2, 128, 1, 4, 1):
                    with T.sblock("O_init"):
                        v_h = T.axis.spatial(24, h_0_fused * 8 + h_1 + h_2_init + h_3_init)
                        v_i = T.axis.spatial(256, i_0 * 32 + i_1 * 8 + i_2_init * 4 + i_3_init)
                        v_c = T.axis.spatial(128, c_0 * 128 + c_1 * 128 + c_2_init + c_3_init)
                        T.reads()
                        T.writes(O[v_h, v_i, v_c])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        O[v_h, v_i, v_c] = T.float32(0.0)
                for j_0, h_2, i_2, c_2, j_1, h_3, i_3, c_3 in T.grid(64, 1, 2, 128, 4, 1, 4, 1):
                    with T.sblock("O_update"):
                        v_h = T.axis.spatial(24, h_0_fused * 8 + h_1 + h_2 + h_3)
                        v_i = T.axis.spatial(256, i_0 * 32 + i_1 * 8 + i_2 * 4 + i_3)
                        v_c = T.axis.spatial(128, c_0 * 128 + c_1 * 128 + c_2 + c_3)
                        v_j = T.axis.reduce(256, j_0 * 4 + j_1)
                        T.reads(O[v_h, v_i, v_c], exps[v_h, v_i, v_j], row_sum[v_h, v_i], V[v_h, v_j, v_c])
                        T.writes(O[v_h, v_i, v_c])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        O[v_h, v_i, v_c] = O[v_h, v_i, v_c] + exps[v_h, v_i, v_j] / row_sum[v_h, v_i] * V[v_h, v_j, v_c]